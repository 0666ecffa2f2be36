//! A list's body read as it arrives: the elements of the array under `{"data": [...]}` are
//! cut out of the bytes one by one, on a blocking thread fed chunk by chunk, and each is
//! handed to a parser. A list of 100,000 clients (about 180 MB of JSON) is never held
//! whole, no JSON tree of it is built, and each element is parsed from a slice (serde_json
//! is about twice as fast on slices as on readers). The body limit
//! (`--max-response-bytes`) is enforced as the bytes arrive, like every other body.
//!
//! The cutting is written here because serde_json has no way to parse an array's
//! elements from a stream of chunks; it tracks strings, escapes and nesting only, and
//! leaves the JSON itself to serde_json.

use super::error::FetchError;
use bytes::Bytes;

/// Where the cutter is in the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// Before the array (the envelope's opening and its key).
    Envelope,
    /// Inside the array, between elements.
    Array,
    /// After the array.
    Done,
}

/// Cuts the elements of the envelope's array out of the bytes.
struct Cutter {
    buffer: Vec<u8>,
    /// How far `buffer` has been scanned.
    scanned: usize,
    /// Where the element being scanned starts, if one is.
    start: Option<usize>,
    depth: usize,
    in_string: bool,
    escaped: bool,
    place: Place,
}

impl Cutter {
    fn new() -> Self {
        Cutter {
            buffer: Vec::new(),
            scanned: 0,
            start: None,
            depth: 0,
            in_string: false,
            escaped: false,
            place: Place::Envelope,
        }
    }

    /// Adds bytes; hands every element now complete to `each`.
    fn feed(
        &mut self,
        bytes: &[u8],
        each: &mut dyn FnMut(&[u8]) -> Result<(), String>,
    ) -> Result<(), String> {
        self.buffer.extend_from_slice(bytes);
        while self.scanned < self.buffer.len() {
            let byte = self.buffer[self.scanned];
            let at = self.scanned;
            self.scanned += 1;
            if self.in_string && !self.escaped && byte != b'"' && byte != b'\\' {
                // Most of a list is text inside strings: skip to the next quote or escape.
                let rest = &self.buffer[self.scanned..];
                let skip = rest.iter().position(|b| *b == b'"' || *b == b'\\');
                self.scanned += skip.unwrap_or(rest.len());
                continue;
            }
            if self.in_string {
                match (self.escaped, byte) {
                    (true, _) => self.escaped = false,
                    (false, b'\\') => self.escaped = true,
                    (false, b'"') => self.in_string = false,
                    _ => {}
                }
                continue;
            }
            match byte {
                b'"' => self.in_string = true,
                b'{' | b'[' => {
                    self.depth += 1;
                    if self.place == Place::Envelope && self.depth == 2 && byte == b'[' {
                        self.check_envelope(at)?;
                        self.place = Place::Array;
                    } else if self.place == Place::Array && self.depth == 3 {
                        self.start = Some(at);
                    }
                }
                b'}' | b']' => {
                    self.depth = self.depth.checked_sub(1).ok_or("unbalanced JSON")?;
                    if self.place == Place::Array && self.depth == 2 {
                        let start = self.start.take().ok_or("unbalanced JSON")?;
                        each(&self.buffer[start..self.scanned])?;
                        self.compact();
                    } else if self.place == Place::Array && self.depth == 1 {
                        self.place = Place::Done;
                    }
                }
                _ => {}
            }
        }
        if self.start.is_none() {
            self.compact();
        }
        Ok(())
    }

    /// The envelope before the array must be `{"data":`.
    fn check_envelope(&self, at: usize) -> Result<(), String> {
        let head = String::from_utf8_lossy(&self.buffer[..at]);
        let head: String = head.chars().filter(|c| !c.is_whitespace()).collect();
        match head.as_str() {
            "{\"data\":" => Ok(()),
            _ => Err("not a `{\"data\": [...]}` list".to_string()),
        }
    }

    /// Forgets the bytes already handed out, once they are most of the buffer (a chunk
    /// holds many elements: moving the rest after each one would copy it again and again).
    fn compact(&mut self) {
        let keep = self.start.unwrap_or(self.scanned);
        if self.place != Place::Envelope && keep > 0 && keep * 2 >= self.buffer.len() {
            self.buffer.drain(..keep);
            self.scanned -= keep;
            if let Some(start) = self.start.as_mut() {
                *start -= keep;
            }
        }
    }

    /// After the last byte: the document must be complete.
    fn finish(&self) -> Result<(), String> {
        let rest = &self.buffer[self.scanned.min(self.buffer.len())..];
        let trailing_ok = rest.iter().all(u8::is_ascii_whitespace);
        match (self.place, self.depth, trailing_ok) {
            (Place::Done, 0, true) => Ok(()),
            _ => Err("the list ended before it was complete".to_string()),
        }
    }
}

/// Why the pump stopped early.
enum Stop {
    TooLarge,
    Transport(String),
}

/// Parses each element of `response`'s `{"data": [...]}` body with `parse` as it
/// arrives, reading at most `limit` bytes.
pub async fn each_element<T: Send + 'static>(
    mut response: reqwest::Response,
    limit: u64,
    what: &str,
    parse: impl Fn(&[u8]) -> Result<T, String> + Send + 'static,
) -> Result<Vec<T>, FetchError> {
    if response.content_length().is_some_and(|n| n > limit) {
        return Err(FetchError::TooLarge {
            what: what.to_string(),
            limit,
        });
    }
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Bytes>(16);
    let parser = tokio::task::spawn_blocking(move || {
        let mut cutter = Cutter::new();
        let mut out = Vec::new();
        let mut each = |element: &[u8]| {
            out.push(parse(element)?);
            Ok(())
        };
        while let Some(chunk) = receiver.blocking_recv() {
            cutter.feed(&chunk, &mut each)?;
        }
        cutter.finish().map(|()| out)
    });
    let mut read: u64 = 0;
    let mut stop = None;
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                read += chunk.len() as u64;
                if read > limit {
                    stop = Some(Stop::TooLarge);
                    break;
                }
                if sender.send(chunk).await.is_err() {
                    break; // the parser stopped: its error says why
                }
            }
            Ok(None) => break,
            Err(e) => {
                stop = Some(Stop::Transport(super::retry::describe_transport(&e)));
                break;
            }
        }
    }
    drop(sender);
    let parsed = parser.await.map_err(|e| FetchError::Decode {
        what: what.to_string(),
        reason: e.to_string(),
        source: super::error::cause(e),
    })?;
    match stop {
        Some(Stop::TooLarge) => Err(FetchError::TooLarge {
            what: what.to_string(),
            limit,
        }),
        Some(Stop::Transport(reason)) => Err(FetchError::Network {
            what: what.to_string(),
            reason: format!("reading the answer: {reason}"),
            source: None,
        }),
        None => parsed.map_err(|reason| FetchError::Decode {
            what: what.to_string(),
            reason: format!("{reason} (is --admin-url the admin API?)"),
            source: None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::Cutter;

    fn cut(chunks: &[&str]) -> Result<Vec<String>, String> {
        let mut cutter = Cutter::new();
        let mut out = Vec::new();
        for chunk in chunks {
            cutter.feed(chunk.as_bytes(), &mut |e| {
                out.push(String::from_utf8_lossy(e).into_owned());
                Ok(())
            })?;
        }
        cutter.finish().map(|()| out)
    }

    #[test]
    fn elements_are_cut_across_chunks_strings_and_escapes() {
        let body = r#"{"data": [{"id":"a","name":"x}]\"{["}, {"id":"b","list":[1,{"c":[]}]}]}"#;
        let expected = [
            r#"{"id":"a","name":"x}]\"{["}"#,
            r#"{"id":"b","list":[1,{"c":[]}]}"#,
        ];
        assert_eq!(cut(&[body]).unwrap(), expected);
        let bytes: Vec<String> = body.chars().map(|c| c.to_string()).collect();
        let one_by_one: Vec<&str> = bytes.iter().map(String::as_str).collect();
        assert_eq!(cut(&one_by_one).unwrap(), expected);
        assert_eq!(cut(&[r#"{"data":[]}"#]).unwrap(), [] as [String; 0]);
    }

    #[test]
    fn other_shapes_and_cut_off_bodies_are_refused() {
        assert!(cut(&[r#"{"other": [{"id":"a"}]}"#]).is_err());
        assert!(cut(&[r#"{"data": [{"id":"a"}"#]).is_err());
        assert!(cut(&[r#"[{"id":"a"}]"#]).is_err());
    }
}
