//! Policy: what a finding may be waived for, and the waivers themselves (`waivers`).
//! Pure: works on findings and the waiver comments the loader read.

pub mod waivers;
