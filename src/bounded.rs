//! The one way boruta-gitops reads a file: open it once, check what was opened, read at
//! most a limit. Manifests, `${file:..}` values, policy files, saved plans, the client
//! secret file, a CA bundle and GitHub's event file all come through here.
//!
//! What looks like `app.yaml` may be a FIFO (an `open` that never returns), a device
//! (`/dev/zero`: bytes until memory runs out), a huge file, or a path swapped between a
//! check and an open. So the path is opened once, without blocking (a FIFO's open returns
//! at once), the *opened handle* is checked to be a regular file, and the read stops one
//! byte past the limit. Nothing is checked on the path and then opened again.

use std::io::Read;
use std::path::Path;

/// Why a file was not read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// A FIFO, socket, device or directory: the text says which.
    #[error("it is {0}, not a regular file")]
    NotRegular(&'static str),
    #[error("it is larger than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("{}", reason(.0))]
    Io(#[source] std::io::Error),
}

/// A short reason for an I/O error.
pub fn reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// What kind of file system object this is, for messages.
pub fn kind_of(file_type: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if file_type.is_socket() {
            return "a socket";
        }
        if file_type.is_char_device() || file_type.is_block_device() {
            return "a device";
        }
    }
    if file_type.is_dir() {
        "a directory"
    } else if file_type.is_symlink() {
        "a symbolic link"
    } else {
        "not a regular file"
    }
}

/// Opens `path` for reading without blocking on a FIFO.
fn open(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    options.open(path)
}

/// The bytes of `path` (symbolic links followed) if it is a regular file of at most
/// `limit` bytes.
pub fn read(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let mut file = open(path).map_err(ReadError::Io)?;
    let opened = file.metadata().map_err(ReadError::Io)?;
    if !opened.is_file() {
        return Err(ReadError::NotRegular(kind_of(opened.file_type())));
    }
    if opened.len() > limit {
        return Err(ReadError::TooLarge { limit });
    }
    // One read asks for the stated length and one byte more: a regular file answers short
    // only at its end, so the usual second read (the one that finds the end) is spared, a
    // system call per manifest. A file that grew since it was opened is read on to the limit.
    let stated = opened.len() as usize;
    let mut bytes = vec![0; stated + 1];
    let first = read_once(&mut file, &mut bytes).map_err(ReadError::Io)?;
    bytes.truncate(first);
    if first != stated {
        file.take(limit + 1 - first as u64)
            .read_to_end(&mut bytes)
            .map_err(ReadError::Io)?;
    }
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge { limit });
    }
    Ok(bytes)
}

/// One `read`, again if a signal interrupted it.
fn read_once(file: &mut std::fs::File, into: &mut [u8]) -> std::io::Result<usize> {
    loop {
        match file.read(into) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            done => return done,
        }
    }
}

/// The UTF-8 text of `path`, under the same rules.
pub fn read_text(path: &Path, limit: u64) -> Result<String, ReadError> {
    let bytes = read(path, limit)?;
    String::from_utf8(bytes).map_err(|_| {
        ReadError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "it is not UTF-8 text",
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_are_read_within_their_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a");
        std::fs::write(&path, "12345").unwrap();
        assert_eq!(read(&path, 5).unwrap(), b"12345");
        assert!(matches!(
            read(&path, 4),
            Err(ReadError::TooLarge { limit: 4 })
        ));
        assert!(matches!(
            read(dir.path(), 10),
            Err(ReadError::NotRegular("a directory"))
        ));
    }

    #[test]
    fn an_empty_file_is_read_as_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.yaml");
        std::fs::write(&path, "").unwrap();
        assert_eq!(read(&path, 10).unwrap(), b"");
    }

    /// A file longer than its stated length (procfs states 0) is read to its end, under
    /// the same limit.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_file_longer_than_it_states_is_read_whole_within_the_limit() {
        let path = Path::new("/proc/self/status");
        assert_eq!(std::fs::metadata(path).unwrap().len(), 0);
        let text = String::from_utf8(read(path, 1 << 20).unwrap()).unwrap();
        assert!(text.starts_with("Name:"), "{text}");
        assert!(text.contains("\nVmRSS:"), "{text}");
        assert!(matches!(
            read(path, 10),
            Err(ReadError::TooLarge { limit: 10 })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pipe.yaml");
        let made = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .unwrap();
        assert!(made.success());
        // No writer: a blocking open would never return.
        assert!(matches!(
            read(&path, 10),
            Err(ReadError::NotRegular("a named pipe (FIFO)"))
        ));
    }
}
