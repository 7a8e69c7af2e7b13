//! Atomic output files.
//!
//! Every file ftu writes (slides, tiles, CSVs, masks, checkpoints) goes
//! through [`AtomicFile`]: a temporary file in the destination's folder,
//! renamed over the destination only once it is complete, so an interrupted
//! or failed write never replaces a good file with a broken one. Temporary
//! files are created owner-only; a committed output is made readable by all
//! (0644), like one made by `File::create`.
//!
//! ```
//! use std::io::Write;
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("out.csv");
//! let out = ftu_outfile::AtomicFile::create(&path)?;
//! writeln!(out.file(), "id,predicted")?;
//! assert!(!path.exists()); // nothing is visible until commit
//! out.commit()?;
//! assert_eq!(std::fs::read_to_string(&path)?, "id,predicted\n");
//! # Ok::<(), std::io::Error>(())
//! ```

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// A file being written; dropped without [`AtomicFile::commit`], it is
/// removed and the destination is untouched.
pub struct AtomicFile {
    tmp: tempfile::NamedTempFile,
    destination: PathBuf,
}

impl AtomicFile {
    /// Starts a temporary file in `destination`'s folder, named
    /// `.<name>.<random>.tmp`: hidden, and never matched by a glob such as
    /// `train/*.tiff` that another process may be scanning meanwhile.
    pub fn create(destination: impl AsRef<Path>) -> io::Result<Self> {
        let destination = destination.as_ref().to_owned();
        let dir = match destination.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let name = destination
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".tmp")
            .tempfile_in(dir)?;
        Ok(Self { tmp, destination })
    }

    /// The open temporary file.
    pub fn file(&self) -> &File {
        self.tmp.as_file()
    }

    /// The temporary file's path, for writers that open by name.
    pub fn temp_path(&self) -> &Path {
        self.tmp.path()
    }

    /// The destination this file will replace.
    pub fn destination(&self) -> &Path {
        &self.destination
    }

    /// Makes the file readable by all and renames it over the destination.
    pub fn commit(self) -> io::Result<()> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            self.tmp
                .as_file()
                .set_permissions(std::fs::Permissions::from_mode(0o644))?;
        }
        self.tmp.persist(&self.destination).map_err(|e| e.error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn replaces_only_on_commit_and_is_readable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.png");
        std::fs::write(&path, "old").unwrap();
        let out = AtomicFile::create(&path).unwrap();
        let temp_name = out.temp_path().file_name().unwrap().to_string_lossy();
        assert!(temp_name.starts_with(".a.png.") && temp_name.ends_with(".tmp"));
        write!(out.file(), "new").unwrap();
        drop(out);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "temp file removed"
        );

        let out = AtomicFile::create(&path).unwrap();
        write!(out.file(), "new").unwrap();
        out.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o644);
        }
    }

    #[test]
    fn missing_folder_is_an_error() {
        assert!(AtomicFile::create("/nonexistent-dir/x.csv").is_err());
    }
}
