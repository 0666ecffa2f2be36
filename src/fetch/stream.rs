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

/// The bytes that matter outside strings: a string's opening quote and the brackets.
/// Everything else there (keys' colons, commas, numbers, literals, spaces) is skipped in
/// one tight loop rather than one state-machine step per byte.
const STRUCTURAL: [bool; 256] = {
    let mut table = [false; 256];
    table[b'"' as usize] = true;
    table[b'{' as usize] = true;
    table[b'}' as usize] = true;
    table[b'[' as usize] = true;
    table[b']' as usize] = true;
    table
};

/// Cuts the elements of the envelope's array out of the bytes. Each chunk is scanned
/// where it is: an element inside one chunk is handed out as a slice of it, and only an
/// element that spans chunks is gathered (in `carry`), so the body is not copied on its
/// way to the parsers but once, into their batches.
struct Cutter {
    /// The envelope's bytes before the array, until it is found.
    head: Vec<u8>,
    /// The open element's bytes from the chunks before this one.
    carry: Vec<u8>,
    /// Whether an element is open (its bytes so far are in `carry`).
    open: bool,
    depth: usize,
    in_string: bool,
    escaped: bool,
    place: Place,
}

impl Cutter {
    fn new() -> Self {
        Cutter {
            head: Vec::new(),
            carry: Vec::new(),
            open: false,
            depth: 0,
            in_string: false,
            escaped: false,
            place: Place::Envelope,
        }
    }

    /// Scans `bytes`, the next chunk; hands every element now complete to `each`.
    fn feed(
        &mut self,
        bytes: &[u8],
        each: &mut dyn FnMut(&[u8]) -> Result<(), String>,
    ) -> Result<(), String> {
        // Where the open element starts in this chunk (0: it began in an earlier one).
        let mut start = self.open.then_some(0);
        let mut at = 0;
        while at < bytes.len() {
            if self.place == Place::Done && self.depth == 0 {
                // Nothing but spaces may follow the envelope.
                if !bytes[at..].iter().all(u8::is_ascii_whitespace) {
                    return Err("bytes after the end of the list".to_string());
                }
                break;
            }
            if self.in_string {
                at = self.skip_string(bytes, at);
                continue;
            }
            let Some(skip) = bytes[at..].iter().position(|&b| STRUCTURAL[usize::from(b)]) else {
                break;
            };
            let (byte, here) = (bytes[at + skip], at + skip);
            at = here + 1;
            match byte {
                b'"' => {
                    self.in_string = true;
                    at = self.skip_string(bytes, at);
                }
                b'{' | b'[' => {
                    self.depth += 1;
                    if self.place == Place::Envelope && self.depth == 2 && byte == b'[' {
                        self.head.extend_from_slice(&bytes[..here]);
                        check_envelope(&self.head)?;
                        self.place = Place::Array;
                    } else if self.place == Place::Array && self.depth == 3 {
                        start = Some(here);
                        self.open = true;
                    }
                }
                _ => {
                    self.depth = self.depth.checked_sub(1).ok_or("unbalanced JSON")?;
                    if self.place == Place::Array && self.depth == 2 {
                        let from = start.take().ok_or("unbalanced JSON")?;
                        self.close(&bytes[from..at], each)?;
                    } else if self.place == Place::Array && self.depth == 1 {
                        self.place = Place::Done;
                    }
                }
            }
        }
        if self.place == Place::Envelope {
            self.head.extend_from_slice(bytes);
        }
        if let Some(from) = start {
            self.carry.extend_from_slice(&bytes[from..]);
        }
        Ok(())
    }

    /// Inside a string from `at`: skips to just past its closing quote, or to the end of
    /// the chunk. Returns where scanning goes on.
    fn skip_string(&mut self, bytes: &[u8], mut at: usize) -> usize {
        loop {
            if self.escaped {
                if at >= bytes.len() {
                    return at;
                }
                self.escaped = false;
                at += 1;
            }
            // Most of a list is text inside strings: skip to the next quote or escape.
            let rest = &bytes[at..];
            let Some(skip) = memchr::memchr2(b'"', b'\\', rest) else {
                return bytes.len();
            };
            at += skip + 1;
            if rest[skip] == b'"' {
                self.in_string = false;
                return at;
            }
            self.escaped = true;
        }
    }

    /// The open element ends with `tail` (all of it when it began in this chunk).
    fn close(
        &mut self,
        tail: &[u8],
        each: &mut dyn FnMut(&[u8]) -> Result<(), String>,
    ) -> Result<(), String> {
        self.open = false;
        if self.carry.is_empty() {
            return each(tail);
        }
        self.carry.extend_from_slice(tail);
        let result = each(&self.carry);
        self.carry.clear();
        result
    }

    /// After the last byte: the document must be complete.
    fn finish(&self) -> Result<(), String> {
        match (self.place, self.depth) {
            (Place::Done, 0) => Ok(()),
            _ => Err("the list ended before it was complete".to_string()),
        }
    }
}

/// The envelope before the array must be `{"data":`.
fn check_envelope(head: &[u8]) -> Result<(), String> {
    let head = String::from_utf8_lossy(head);
    let head: String = head.chars().filter(|c| !c.is_whitespace()).collect();
    match head.as_str() {
        "{\"data\":" => Ok(()),
        _ => Err("not a `{\"data\": [...]}` list".to_string()),
    }
}

/// Why the pump stopped early.
enum Stop {
    TooLarge,
    Transport(reqwest::Error),
}

/// Elements are parsed in batches of about this many bytes: large enough that handing one
/// to a parser costs nothing, small enough that every parser has work until the end.
const BATCH_BYTES: usize = 256 * 1024;

/// Cut elements, copied one after another, waiting for a parser.
#[derive(Default)]
struct Batch {
    index: usize,
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

/// Emptied batch buffers, used again: the same few buffers carry the whole list, rather
/// than new ones interleaved with the records in the allocator's arenas.
#[derive(Default)]
struct Spare(std::sync::Mutex<Vec<Vec<u8>>>);

impl Spare {
    fn put(&self, mut bytes: Vec<u8>) {
        bytes.clear();
        if let Ok(mut spare) = self.0.lock() {
            spare.push(bytes);
        }
    }

    fn take(&self) -> Vec<u8> {
        let reused = self.0.lock().ok().and_then(|mut spare| spare.pop());
        reused.unwrap_or_else(|| Vec::with_capacity(BATCH_BYTES + BATCH_BYTES / 2))
    }

    fn batch(&self, index: usize) -> Batch {
        Batch {
            index,
            bytes: self.take(),
            ends: Vec::new(),
        }
    }
}

/// The first batch (in the list's order) where an element failed to parse, if any.
struct FirstFailure(std::sync::atomic::AtomicUsize);

impl FirstFailure {
    fn new() -> Self {
        FirstFailure(std::sync::atomic::AtomicUsize::new(usize::MAX))
    }

    fn at(&self, index: usize) {
        self.0.fetch_min(index, std::sync::atomic::Ordering::SeqCst);
    }

    /// A batch before `index` failed: `index` need not be parsed.
    fn before(&self, index: usize) -> bool {
        self.0.load(std::sync::atomic::Ordering::SeqCst) < index
    }

    fn any(&self) -> bool {
        self.before(usize::MAX)
    }
}

/// One parsed batch (or the first error in it), by its place in the list.
type Parsed<T> = (usize, Result<Vec<T>, String>);

/// Puts parsed batches back in the list's order as they come, so each batch's vector is
/// freed as soon as its records are moved (and its memory serves the next batch).
struct InOrder<T> {
    out: Vec<T>,
    pending: std::collections::BTreeMap<usize, Result<Vec<T>, String>>,
    next: usize,
    /// The first error in the list's order, once every batch before it is in.
    error: Option<String>,
}

impl<T> InOrder<T> {
    fn new() -> Self {
        InOrder {
            out: Vec::new(),
            pending: std::collections::BTreeMap::new(),
            next: 0,
            error: None,
        }
    }

    fn add(&mut self, (index, result): Parsed<T>) {
        self.pending.insert(index, result);
        while self.error.is_none() {
            let Some(result) = self.pending.remove(&self.next) else {
                return;
            };
            match result {
                Ok(records) => self.out.extend(records),
                Err(e) => self.error = Some(e),
            }
            self.next += 1;
        }
    }
}

/// Parses the batches `batches` hands out until it is closed, sending each result to
/// `results`. Once an element failed (here or in another parser) the batches after the
/// failing one are dropped unparsed: the first failure is the one reported.
fn parse_batches<T>(
    batches: &std::sync::Mutex<std::sync::mpsc::Receiver<Batch>>,
    parse: &(dyn Fn(&[u8]) -> Result<T, String> + Sync),
    failed: &FirstFailure,
    spare: &Spare,
    results: std::sync::mpsc::Sender<Parsed<T>>,
) {
    loop {
        let next = batches.lock().map(|receiver| receiver.recv());
        let Ok(Ok(batch)) = next else {
            return;
        };
        if failed.before(batch.index) {
            continue;
        }
        if results
            .send(parse_batch(batch, parse, failed, spare))
            .is_err()
        {
            return;
        }
    }
}

/// Parses the elements of one batch, up to the first that fails.
fn parse_batch<T>(
    batch: Batch,
    parse: &(dyn Fn(&[u8]) -> Result<T, String> + Sync),
    failed: &FirstFailure,
    spare: &Spare,
) -> Parsed<T> {
    let mut start = 0;
    let mut parsed = Vec::with_capacity(batch.ends.len());
    let result = batch.ends.iter().try_for_each(|&end| {
        parsed.push(parse(&batch.bytes[start..end])?);
        start = end;
        Ok(())
    });
    if result.is_err() {
        failed.at(batch.index);
    }
    spare.put(batch.bytes);
    (batch.index, result.map(|()| parsed))
}

/// Cuts the elements out of the chunks `receiver` delivers and has them parsed by
/// `parsers` threads and itself (a list of 100,000 clients is 180 MB: its JSON and its fingerprints
/// take every core the run otherwise leaves idle while it waits for the server). The
/// elements come back in the list's order; the first element that fails to parse is
/// reported, before whatever stopped the cutting after it.
fn cut_and_parse<T: Send>(
    mut receiver: tokio::sync::mpsc::Receiver<Bytes>,
    parse: &(dyn Fn(&[u8]) -> Result<T, String> + Sync),
    parsers: usize,
) -> Result<Vec<T>, String> {
    use std::sync::mpsc::TrySendError;
    let failed = FirstFailure::new();
    let (sender, batches) = std::sync::mpsc::sync_channel::<Batch>(2 * parsers);
    let batches = std::sync::Mutex::new(batches);
    let (results, parsed) = std::sync::mpsc::channel::<Parsed<T>>();
    let spare = Spare::default();
    let mut in_order = InOrder::new();
    let cut = std::thread::scope(|scope| {
        for _ in 0..parsers {
            let results = results.clone();
            let (batches, failed, spare) = (&batches, &failed, &spare);
            scope.spawn(move || parse_batches(batches, parse, failed, spare, results));
        }
        drop(results);
        let mut cutter = Cutter::new();
        let mut batch = spare.batch(0);
        let mut each = |element: &[u8]| {
            batch.bytes.extend_from_slice(element);
            batch.ends.push(batch.bytes.len());
            // The first element goes alone, at once: its record tells the version, and
            // plan's early judging waits for it.
            if batch.bytes.len() >= BATCH_BYTES || batch.index == 0 {
                let next = spare.batch(batch.index + 1);
                let full = std::mem::replace(&mut batch, next);
                // A parser that failed stops the cutting: the rest is not read.
                if failed.any() {
                    return Err(String::new());
                }
                // The parsers are busy: this thread parses the batch itself.
                if let Err(TrySendError::Full(full)) = sender.try_send(full) {
                    in_order.add(parse_batch(full, parse, &failed, &spare));
                }
                parsed.try_iter().for_each(|p| in_order.add(p));
            }
            Ok(())
        };
        let mut cut = (|| {
            while let Some(chunk) = receiver.blocking_recv() {
                cutter.feed(&chunk, &mut each)?;
            }
            cutter.finish()
        })();
        let last = std::mem::take(&mut batch);
        let sent = last.index + usize::from(!last.ends.is_empty());
        if cut.is_ok() && !last.ends.is_empty() && sender.send(last).is_err() {
            cut = Err(String::new());
        }
        drop(sender);
        // Every parser sends its last result and ends when the batches are closed.
        parsed.iter().for_each(|p| in_order.add(p));
        cut.map(|()| sent)
    });
    if let Some(error) = in_order.error {
        return Err(error);
    }
    match cut? == in_order.next {
        true => Ok(in_order.out),
        // A batch cut but never parsed would silently drop records, and plan would then
        // propose creating them again. It cannot happen today (a parser's panic ends the
        // whole read as a panic); the count is checked so that it never goes unnoticed.
        false => Err("a part of the list was not parsed".to_string()),
    }
}

/// Parses each element of `response`'s `{"data": [...]}` body with `parse` as it
/// arrives, reading at most `limit` bytes.
pub async fn each_element<T: Send + 'static>(
    mut response: reqwest::Response,
    limit: u64,
    what: &str,
    parse: impl Fn(&[u8]) -> Result<T, String> + Send + Sync + 'static,
) -> Result<Vec<T>, FetchError> {
    if response.content_length().is_some_and(|n| n > limit) {
        return Err(FetchError::TooLarge {
            what: what.to_string(),
            limit,
        });
    }
    let (sender, receiver) = tokio::sync::mpsc::channel::<Bytes>(16);
    // The thread that cuts parses too when the others are busy.
    let parsers = std::thread::available_parallelism().map_or(1, |n| n.get().clamp(2, 4) - 1);
    let parser = tokio::task::spawn_blocking(move || cut_and_parse(receiver, &parse, parsers));
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
                stop = Some(Stop::Transport(e));
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
        Some(Stop::Transport(e)) => Err(super::retry::answer_broke_off(what, e)),
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

    /// Cuts and parses `body` sent in chunks of `chunk` bytes, each element parsed as a
    /// number (`bad` elements fail, naming themselves).
    fn parse_all(body: &str, chunk: usize, parsers: usize) -> Result<Vec<u64>, String> {
        let (sender, receiver) = tokio::sync::mpsc::channel(body.len() / chunk + 1);
        for part in body.as_bytes().chunks(chunk) {
            sender
                .try_send(bytes::Bytes::copy_from_slice(part))
                .unwrap();
        }
        drop(sender);
        let parse = |element: &[u8]| {
            let text = String::from_utf8_lossy(element);
            let value: serde_json::Value = serde_json::from_str(&text).unwrap();
            value["n"]
                .as_u64()
                .ok_or_else(|| format!("bad {}", value["bad"]))
        };
        super::cut_and_parse(receiver, &parse, parsers)
    }

    #[test]
    fn elements_parsed_on_several_threads_keep_their_order_and_the_first_error() {
        let padding = "x".repeat(500);
        let element = |i: usize| match i {
            1500 | 2400 => format!(r#"{{"bad":{i},"p":"{padding}"}}"#),
            _ => format!(r#"{{"n":{i},"p":"{padding}"}}"#),
        };
        let body = |count: usize, bad: bool| {
            let items: Vec<String> = (0..count)
                .map(|i| {
                    if bad {
                        element(i)
                    } else {
                        element(i).replace("bad", "n")
                    }
                })
                .collect();
            format!(r#"{{"data": [{}]}}"#, items.join(","))
        };
        let good = body(3000, false);
        let expected: Vec<u64> = (0..3000).collect();
        for parsers in [1, 2, 3] {
            assert_eq!(parse_all(&good, 65536, parsers).unwrap(), expected);
            assert_eq!(
                parse_all(&body(3000, true), 4096, parsers),
                Err("bad 1500".into())
            );
        }
        // A parse error comes before a cut-off body, as it would one element at a time.
        let cut_off = &body(3000, true)[..1_200_000];
        assert_eq!(parse_all(cut_off, 8192, 2), Err("bad 1500".into()));
        let cut_off = &good[..1_200_000];
        assert_eq!(
            parse_all(cut_off, 8192, 2),
            Err("the list ended before it was complete".into())
        );
        assert_eq!(parse_all(r#"{"data":[]}"#, 3, 2), Ok(vec![]));
    }

    #[test]
    fn escaped_backslashes_and_quotes_are_cut_whatever_the_chunks() {
        let body = r#"{"data":[{"k":"\\\\"},{"k":"\\\"}[","l":[]}, {"m":"\\n"}]}"#;
        let expected = [
            r#"{"k":"\\\\"}"#,
            r#"{"k":"\\\"}[","l":[]}"#,
            r#"{"m":"\\n"}"#,
        ];
        for size in 1..body.len() {
            let chunks: Vec<&str> = body
                .as_bytes()
                .chunks(size)
                .map(|c| std::str::from_utf8(c).unwrap())
                .collect();
            assert_eq!(cut(&chunks).unwrap(), expected, "chunks of {size}");
        }
    }

    #[test]
    fn the_first_element_is_parsed_before_the_rest_of_the_list_arrives() {
        let (sender, receiver) = tokio::sync::mpsc::channel(4);
        let (parsed, first) = std::sync::mpsc::channel();
        let parse = move |element: &[u8]| {
            let _ = parsed.send(String::from_utf8_lossy(element).into_owned());
            Ok(element.len())
        };
        let reader = std::thread::spawn(move || super::cut_and_parse(receiver, &parse, 2));
        let head = bytes::Bytes::from_static(br#"{"data":[{"n":0},"#);
        sender.blocking_send(head).unwrap();
        // plan's early judging waits for the first record: it must not wait for a batch
        // to fill up, nor for the rest of the list.
        let told = first.recv_timeout(std::time::Duration::from_secs(10));
        assert_eq!(told.as_deref(), Ok(r#"{"n":0}"#));
        let tail = bytes::Bytes::from_static(br#"{"n":1}]}"#);
        sender.blocking_send(tail).unwrap();
        drop(sender);
        assert_eq!(reader.join().unwrap(), Ok(vec![7, 7]));
    }

    #[test]
    fn other_shapes_and_cut_off_bodies_are_refused() {
        assert!(cut(&[r#"{"other": [{"id":"a"}]}"#]).is_err());
        assert!(cut(&[r#"{"data": [{"id":"a"}"#]).is_err());
        assert!(cut(&[r#"[{"id":"a"}]"#]).is_err());
        // Nothing but spaces may follow the list, in its chunk or a later one.
        assert!(cut(&[r#"{"data": [{"id":"a"}]} x"#]).is_err());
        assert!(cut(&[r#"{"data": [{"id":"a"}]}"#, " \"x\""]).is_err());
        assert_eq!(cut(&[r#"{"data": []}"#, " \n"]).map(|v| v.len()), Ok(0));
    }
}

#[cfg(test)]
mod broken_off {
    use super::each_element;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A list whose body breaks off is a network error that says so, and keeps the
    /// transport's error as its source (the chain of causes is complete).
    #[tokio::test(flavor = "multi_thread")]
    async fn a_body_that_breaks_off_is_a_network_error_with_its_source() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/api/clients", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            // The whole request is read first: closing on unread bytes would reset the
            // connection instead of ending the body.
            let mut request = Vec::new();
            while !request.ends_with(b"\r\n\r\n") {
                let mut byte = [0u8; 1];
                if socket.read(&mut byte).await.unwrap() == 0 {
                    break;
                }
                request.push(byte[0]);
            }
            // 100 bytes promised, 12 sent, then the connection closes.
            let head =
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n";
            socket.write_all(head.as_bytes()).await.unwrap();
            socket.write_all(br#"{"data": [{""#).await.unwrap();
        });
        let timeout = std::time::Duration::from_secs(10);
        let client = crate::fetch::settings::client_builder(timeout, &Default::default());
        let response = client.build().unwrap().get(&url).send().await.unwrap();
        let what = "listing clients (GET /api/clients)";
        let error = each_element(response, 1 << 20, what, |e| Ok(e.len()))
            .await
            .unwrap_err();
        server.await.unwrap();
        assert_eq!(
            error.to_string(),
            "listing clients (GET /api/clients) failed: reading the answer: \
             the server closed the connection before the answer was complete"
        );
        assert!(
            matches!(error, crate::fetch::FetchError::Network { .. }),
            "{error:?}"
        );
        assert!(std::error::Error::source(&error).is_some(), "{error:?}");
    }
}
