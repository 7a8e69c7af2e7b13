//! Which steps of an experiment are finished: `state.json` in the output
//! folder. A rerun skips a finished step whose inputs are unchanged, resumes
//! an unfinished one (preprocess and training are resumable), and redoes —
//! from scratch — a step whose config changed, with every step after it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::io::write_atomic;

#[derive(Debug, Default, Serialize, Deserialize)]
struct StateFile {
    /// Step name -> the JSON of the config it ran with.
    finished: BTreeMap<String, String>,
}

/// How a step is to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Never finished (or interrupted): run, resuming what is on disk.
    Resume,
    /// Its config changed or `--force`: outputs were removed; run anew.
    Fresh,
}

/// The steps of one experiment folder.
pub struct Steps {
    path: PathBuf,
    state: StateFile,
    force: bool,
    /// Set once a step reruns from scratch: everything after it does too.
    invalidated: bool,
}

impl Steps {
    /// Opens `out_dir/state.json` (missing: nothing finished yet).
    pub fn open(out_dir: &Path, force: bool) -> Result<Steps> {
        let path = out_dir.join("state.json");
        let state = match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).with_context(|| {
                format!(
                    "{}: not an ftu state file (delete it to start over)",
                    path.display()
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => StateFile::default(),
            Err(e) => return Err(e).with_context(|| format!("{}: cannot read", path.display())),
        };
        Ok(Steps {
            path,
            state,
            force,
            invalidated: false,
        })
    }

    /// Runs step `name` unless it finished with the same `inputs`. `outputs`
    /// are removed before a fresh run. Returns whether it ran.
    pub fn run(
        &mut self,
        name: &str,
        inputs: &impl Serialize,
        outputs: &[&Path],
        step: impl FnOnce(Mode) -> Result<()>,
    ) -> Result<bool> {
        let key = serde_json::to_string(inputs).context("step inputs")?;
        let previous = self.state.finished.get(name);
        let mode = match previous {
            Some(done) if *done == key && !self.force && !self.invalidated => {
                println!("step {name}: finished earlier, skipped");
                return Ok(false);
            }
            Some(_) => Mode::Fresh,
            None if self.force || self.invalidated => Mode::Fresh,
            None => Mode::Resume,
        };
        if mode == Mode::Fresh {
            self.invalidated = true;
            for out in outputs {
                remove(out)?;
            }
        }
        // Not finished until it returns: an interrupted step resumes next time.
        self.state.finished.remove(name);
        self.save()?;
        println!("step {name}: running");
        step(mode).with_context(|| format!("step {name}"))?;
        self.state.finished.insert(name.to_owned(), key);
        self.save()?;
        Ok(true)
    }

    fn save(&self) -> Result<()> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("{}: cannot create", dir.display()))?;
        }
        let text = serde_json::to_string_pretty(&self.state).context("state")?;
        write_atomic(&self.path, |f| {
            std::io::Write::write_all(f, text.as_bytes())
        })
    }
}

fn remove(path: &Path) -> Result<()> {
    let result = if path.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    match result {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("{}: cannot remove", path.display()))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_finished_resumes_interrupted_and_redoes_changed() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a.txt");
        let mut steps = Steps::open(dir.path(), false).unwrap();
        assert!(
            steps
                .run("a", &1, &[&out], |m| {
                    assert_eq!(m, Mode::Resume);
                    std::fs::write(&out, "1").map_err(Into::into)
                })
                .unwrap()
        );
        // An interrupted step is not marked finished.
        assert!(
            steps
                .run("b", &1, &[], |_| anyhow::bail!("killed"))
                .is_err()
        );

        let mut steps = Steps::open(dir.path(), false).unwrap();
        assert!(!steps.run("a", &1, &[&out], |_| unreachable!()).unwrap());
        assert!(
            steps
                .run("b", &1, &[], |m| {
                    assert_eq!(m, Mode::Resume);
                    Ok(())
                })
                .unwrap()
        );

        // A changed input wipes outputs and reruns everything after it.
        let mut steps = Steps::open(dir.path(), false).unwrap();
        assert!(
            steps
                .run("a", &2, &[&out], |m| {
                    assert_eq!(m, Mode::Fresh);
                    assert!(!out.exists());
                    Ok(())
                })
                .unwrap()
        );
        assert!(
            steps
                .run("b", &1, &[], |m| {
                    assert_eq!(m, Mode::Fresh);
                    Ok(())
                })
                .unwrap()
        );
        assert!(steps.state.finished.contains_key("b"));
    }

    #[test]
    fn corrupt_state_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("state.json"), "{").unwrap();
        let err = Steps::open(dir.path(), false).err().unwrap();
        assert!(format!("{err:#}").contains("state.json"));
    }
}
