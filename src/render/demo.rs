//! What `demo` says: a header, each step's title and why it is there, the exit code each
//! step gave against the one expected, and the verdict.

use crate::error::{Error, Exit};
use std::path::Path;

use crate::commands::demo::{ADDED_URI, EDITED};

/// The steps of the demo, in order: (title, why).
const STEPS: [(&str, &str); 8] = [
    (
        "boruta-gitops validate (a copy with a mistake)",
        "Offline: JSON Schema and boruta's own rules; every finding points at file:line:col.",
    ),
    ("boruta-gitops validate", "The examples as they are: no error."),
    (
        "boruta-gitops plan --detailed-exitcode",
        "Reads the server once and shows what apply would create; exit 2 means there are creates.",
    ),
    (
        "boruta-gitops apply --auto-approve",
        "Creates the missing clients, retrying safely.",
    ),
    (
        "boruta-gitops plan --detailed-exitcode (again)",
        "A re-run converges: nothing is left to create, so exit 0.",
    ),
    (
        "boruta-gitops drift (after an edit in the admin UI)",
        "Someone added {ADDED_URI} to {EDITED}'s redirect URIs by hand; the scheduled check says so: exit 2.",
    ),
    (
        "boruta-gitops apply --update --auto-approve",
        "Puts the drifted client back as git declares it: one PATCH with exactly the fields the plan shows (and its scopes, which boruta replaces on every update).",
    ),
    (
        "boruta-gitops drift (again)",
        "The server matches git again: exit 0.",
    ),
];

/// The demo's steps as they run, and what went wrong.
pub struct Steps {
    done: usize,
    failures: Vec<String>,
}

impl Steps {
    /// Says where the sandbox and the manifests are.
    pub fn start(base_url: &str, manifests: &Path) -> Steps {
        println!("boruta-gitops demo: a sandbox boruta is listening on {base_url}");
        println!("manifests: {}\n", manifests.display());
        Steps {
            done: 0,
            failures: Vec::new(),
        }
    }

    /// Runs the next step, saying what it is and how it ended.
    pub fn step(
        &mut self,
        expected: Exit,
        run: &mut dyn FnMut() -> Result<Exit, Error>,
    ) -> Result<(), Error> {
        let (title, why) = STEPS[self.done % STEPS.len()];
        self.done += 1;
        let n = self.done;
        let why = why
            .replace("{ADDED_URI}", ADDED_URI)
            .replace("{EDITED}", EDITED);
        println!("━━ step {n}: {title}");
        println!("   {why}\n");
        let exit = run()?;
        println!("\n   → exit {} (expected {})\n", exit as u8, expected as u8);
        if exit != expected {
            self.fail(format!(
                "step {n} ({title}) exited {} instead of {}",
                exit as u8, expected as u8
            ));
        }
        Ok(())
    }

    /// Something that went wrong outside a step.
    fn fail(&mut self, failure: String) {
        self.failures.push(failure);
    }

    /// The admin-UI edit found no client to edit.
    pub fn not_edited(&mut self) {
        self.fail(format!("the demo could not find {EDITED} to edit"));
    }

    /// The verdict, and the exit code.
    pub fn finish(self) -> Exit {
        if self.failures.is_empty() {
            println!("demo finished: every step behaved as expected.");
            return Exit::Success;
        }
        for failure in &self.failures {
            eprintln!("error: {failure}");
        }
        Exit::Failure
    }
}
