//! A `200`'s body deserialized as it arrives, on a blocking thread fed chunk by chunk, so
//! a large list (100,000 clients: about 180 MB of JSON) becomes typed records without ever
//! being held whole. The body limit (`--max-response-bytes`) is enforced as the bytes
//! arrive, like every other body.

use super::error::FetchError;
use bytes::Bytes;
use std::io::Read;

/// A reader over the chunks a channel brings (on the blocking thread).
struct Chunks {
    receiver: tokio::sync::mpsc::Receiver<Result<Bytes, String>>,
    current: Bytes,
}

impl Read for Chunks {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.receiver.blocking_recv() {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(reason)) => return Err(std::io::Error::other(reason)),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current = self.current.slice(n..);
        Ok(n)
    }
}

/// Why the pump stopped early.
enum Stop {
    TooLarge,
    Transport(String),
}

/// Deserializes `response`'s body as `T` while it arrives, reading at most `limit` bytes.
pub async fn decode<T: serde::de::DeserializeOwned + Send + 'static>(
    mut response: reqwest::Response,
    limit: u64,
    what: &str,
) -> Result<T, FetchError> {
    if response.content_length().is_some_and(|n| n > limit) {
        return Err(FetchError::TooLarge {
            what: what.to_string(),
            limit,
        });
    }
    let (sender, receiver) = tokio::sync::mpsc::channel(16);
    let parser = tokio::task::spawn_blocking(move || {
        let reader = std::io::BufReader::with_capacity(
            256 * 1024,
            Chunks {
                receiver,
                current: Bytes::new(),
            },
        );
        serde_json::from_reader::<_, T>(reader)
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
                if sender.send(Ok(chunk)).await.is_err() {
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
    if stop.is_some() {
        let _ = sender.send(Err("the answer was cut off".to_string())).await;
    }
    drop(sender);
    let parsed = parser.await.map_err(|e| FetchError::Decode {
        what: what.to_string(),
        reason: e.to_string(),
    })?;
    match stop {
        Some(Stop::TooLarge) => Err(FetchError::TooLarge {
            what: what.to_string(),
            limit,
        }),
        Some(Stop::Transport(reason)) => Err(FetchError::Network {
            what: what.to_string(),
            reason: format!("reading the answer: {reason}"),
        }),
        None => parsed.map_err(|e| FetchError::Decode {
            what: what.to_string(),
            reason: format!("{e} (is --admin-url the admin API?)"),
        }),
    }
}
