//! The inputs of a run as a stream, in command-line order: local inputs as they are,
//! and each `s3://` listing as its objects arrive ([`each`]). [`Ahead`] looks ahead of
//! the reader so that the downloads of the next objects start before they are opened,
//! and [`Retain`] drops inputs on the way (those a `--state` file knows) before they
//! are looked ahead at, so nothing is downloaded for nothing.

use std::collections::VecDeque;

use super::{Input, InputError};

/// How many inputs a reader looks ahead of itself, so that S3 downloads can start
/// before their objects are opened: more than the most requests ever in flight.
#[cfg(feature = "s3")]
pub const AHEAD: usize = 2 * super::s3::MAX_CONCURRENCY;
/// How many inputs a reader looks ahead of itself (local inputs need none).
#[cfg(not(feature = "s3"))]
pub const AHEAD: usize = 1;

/// An input, or a problem met while finding the next ones (a listing that failed).
pub type Item = Result<Input, InputError>;

/// A stream of inputs that can say "nothing yet" without waiting.
pub trait Source: Send {
    /// The next item; `None` at the end or, with `wait` false, when none is ready yet.
    fn next(&mut self, wait: bool) -> Option<Item>;
}

/// The inputs of `inputs`, listings expanded into their objects.
pub fn each(inputs: &[Input]) -> Each<'_> {
    Each {
        inputs: inputs.iter(),
        #[cfg(feature = "s3")]
        listing: None,
    }
}

/// See [`each`].
pub struct Each<'a> {
    inputs: std::slice::Iter<'a, Input>,
    #[cfg(feature = "s3")]
    listing: Option<&'a super::s3::Listing>,
}

impl Source for Each<'_> {
    #[cfg(feature = "s3")]
    fn next(&mut self, wait: bool) -> Option<Item> {
        loop {
            if let Some(listing) = self.listing {
                match listing.next(wait) {
                    Some(Ok(object)) => return Some(Ok(Input::S3(object))),
                    Some(Err(e)) => {
                        self.listing = None;
                        return Some(Err(InputError::new(listing.url(), e.to_string())));
                    }
                    None if !wait => return None,
                    None => self.listing = None,
                }
            }
            match self.inputs.next()? {
                Input::S3Listing(listing) => self.listing = Some(listing),
                input => return Some(Ok(input.clone())),
            }
        }
    }

    #[cfg(not(feature = "s3"))]
    fn next(&mut self, _wait: bool) -> Option<Item> {
        self.inputs.next().cloned().map(Ok)
    }
}

/// Keeps the inputs for which `keep` says so, in order; see [`Source::retain`].
pub struct Retain<S, F> {
    source: S,
    keep: F,
}

impl<S: Source, F: FnMut(&Input) -> bool + Send> Source for Retain<S, F> {
    fn next(&mut self, wait: bool) -> Option<Item> {
        loop {
            match self.source.next(wait)? {
                Ok(input) if !(self.keep)(&input) => continue,
                item => return Some(item),
            }
        }
    }
}

/// Adapters of every source.
pub trait SourceExt: Source + Sized {
    /// Only the inputs `keep` returns true for (errors pass).
    fn retain<F: FnMut(&Input) -> bool + Send>(self, keep: F) -> Retain<Self, F> {
        Retain { source: self, keep }
    }

    /// Looks up to `depth` items ahead; see [`Ahead`].
    fn ahead(self, depth: usize) -> Ahead<Self> {
        Ahead {
            source: self,
            buffer: VecDeque::new(),
            depth: depth.max(1),
        }
    }
}

impl<S: Source> SourceExt for S {}

/// Takes the items of a source in order, but keeps up to `depth` of them ready ahead
/// of the reader (never waiting for them), announcing each S3 object as it comes so
/// its download can start. An iterator: it waits only when nothing is ready.
pub struct Ahead<S> {
    source: S,
    buffer: VecDeque<Item>,
    depth: usize,
}

impl<S: Source> Ahead<S> {
    fn take(&mut self, item: Item) {
        #[cfg(feature = "s3")]
        if let Ok(Input::S3(object)) = &item {
            object.prefetch();
        }
        self.buffer.push_back(item);
    }
}

impl<S: Source> Iterator for Ahead<S> {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        while self.buffer.len() < self.depth {
            match self.source.next(false) {
                Some(item) => self.take(item),
                None => break,
            }
        }
        if self.buffer.is_empty() {
            let item = self.source.next(true)?;
            self.take(item);
        }
        self.buffer.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_inputs_come_in_order_and_retain_drops_some() {
        let inputs = vec![
            Input::File("a".into()),
            Input::Stdin,
            Input::File("b".into()),
        ];
        let all: Vec<Item> = each(&inputs).ahead(2).collect();
        assert_eq!(all, inputs.iter().cloned().map(Ok).collect::<Vec<_>>());
        let files: Vec<Item> = each(&inputs)
            .retain(|i| matches!(i, Input::File(_)))
            .ahead(1)
            .collect();
        assert_eq!(files, vec![Ok(inputs[0].clone()), Ok(inputs[2].clone())]);
    }
}
