//! Where log bytes come from: files, directories walked recursively, or stdin.
//!
//! Directories are walked in name order so every run reads inputs in the same order;
//! hidden files and folders (names starting with `.`) are skipped; symbolic links are
//! followed, and a link that loops back is reported instead of walked forever.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;

use walkdir::WalkDir;

/// One input stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// Standard input, named `-` on the command line.
    Stdin,
    /// A regular file.
    File(PathBuf),
}

impl Input {
    /// Opens the raw (possibly compressed) byte stream.
    pub fn open(&self) -> io::Result<Box<dyn Read + Send>> {
        match self {
            Input::Stdin => Ok(Box::new(io::stdin())),
            Input::File(path) => Ok(Box::new(File::open(path)?)),
        }
    }

    /// Opens a regular file for reading at any offset; standard input is not one.
    pub fn open_file(&self) -> io::Result<File> {
        match self {
            Input::Stdin => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "standard input cannot be read in pieces",
            )),
            Input::File(path) => File::open(path),
        }
    }

    /// The name used in messages: the path as given, or `<stdin>`.
    pub fn name(&self) -> String {
        match self {
            Input::Stdin => "<stdin>".to_string(),
            Input::File(path) => path.display().to_string(),
        }
    }
}

impl fmt::Display for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// A problem with one input; the others are still read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{source_name}: {message}")]
pub struct InputError {
    /// The input's name as shown to the user.
    pub source_name: String,
    /// What went wrong, for a person.
    pub message: String,
}

impl InputError {
    /// An error about `source_name`.
    pub fn new(source_name: impl Into<String>, message: impl Into<String>) -> Self {
        InputError {
            source_name: source_name.into(),
            message: message.into(),
        }
    }
}

/// Expands command-line arguments into inputs, in order. Directories become the files
/// below them; problems (missing paths, unreadable folders, link loops) are returned
/// beside the inputs that could be found.
pub fn expand(args: &[String]) -> (Vec<Input>, Vec<InputError>) {
    let mut inputs = Vec::new();
    let mut errors = Vec::new();
    for arg in args {
        if arg == "-" {
            if inputs.contains(&Input::Stdin) {
                errors.push(InputError::new("-", "standard input can be read only once"));
            } else {
                inputs.push(Input::Stdin);
            }
            continue;
        }
        let path = PathBuf::from(arg);
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_dir() => walk(path, &mut inputs, &mut errors),
            Ok(_) => inputs.push(Input::File(path)),
            Err(e) => errors.push(InputError::new(arg, describe(&e))),
        }
    }
    (inputs, errors)
}

fn walk(root: PathBuf, inputs: &mut Vec<Input>, errors: &mut Vec<InputError>) {
    let walker = WalkDir::new(&root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for entry in walker {
        match entry {
            Ok(e) if e.file_type().is_file() => inputs.push(Input::File(e.into_path())),
            Ok(_) => {}
            Err(e) => {
                let name = e
                    .path()
                    .map_or_else(|| root.display().to_string(), |p| p.display().to_string());
                let message = if e.loop_ancestor().is_some() {
                    "symbolic link loop, not followed".to_string()
                } else if let Some(io) = e.io_error() {
                    describe(io)
                } else {
                    e.to_string()
                };
                errors.push(InputError::new(name, message));
            }
        }
    }
}

/// An I/O error in words, without Rust's `(os error N)` suffix.
pub fn describe(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file or directory".to_string(),
        io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => {
            let text = e.to_string();
            match text.find(" (os error") {
                Some(cut) => text[..cut].to_string(),
                None => text,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_are_walked_in_order_without_hidden_entries() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("b/.hidden")).unwrap();
        std::fs::create_dir_all(root.join("a")).unwrap();
        for f in [
            "b/2.log",
            "b/1.log",
            "a/z.log",
            ".secret",
            "b/.hidden/x.log",
            "c.log",
        ] {
            std::fs::write(root.join(f), "").unwrap();
        }
        let (inputs, errors) = expand(&[root.display().to_string()]);
        assert!(errors.is_empty());
        let names: Vec<_> = inputs
            .iter()
            .map(|i| match i {
                Input::File(p) => p.strip_prefix(root).unwrap().display().to_string(),
                Input::Stdin => "-".into(),
            })
            .collect();
        assert_eq!(names, ["a/z.log", "b/1.log", "b/2.log", "c.log"]);
    }

    #[test]
    fn missing_paths_and_repeated_stdin_are_errors() {
        let (inputs, errors) = expand(&["-".into(), "/no/such/path".into(), "-".into()]);
        assert_eq!(inputs, vec![Input::Stdin]);
        assert_eq!(
            errors[0].to_string(),
            "/no/such/path: no such file or directory"
        );
        assert_eq!(errors[1].message, "standard input can be read only once");
    }
}
