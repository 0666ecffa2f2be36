//! Precise waits for `--latency-ms`. tokio's timer has millisecond ticks and rounds every
//! sleep up to the next one, which adds 1 to 2 ms to each answer: 10% of a 20 ms latency.
//! One thread here sleeps until the earliest deadline with the OS's sub-millisecond
//! precision and wakes each waiting request on time.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::mpsc;
use std::time::Instant;
use tokio::sync::oneshot;

/// Hands deadlines to the clock thread. The thread ends when the clock is dropped.
pub struct Clock {
    requests: std::sync::Mutex<mpsc::Sender<(Instant, oneshot::Sender<()>)>>,
}

impl Clock {
    pub fn start() -> Clock {
        let (tx, rx) = mpsc::channel::<(Instant, oneshot::Sender<()>)>();
        std::thread::Builder::new()
            .name("boruta-sandbox-clock".into())
            .spawn(move || run(rx))
            .expect("spawn the sandbox clock thread");
        Clock {
            requests: std::sync::Mutex::new(tx),
        }
    }

    /// Waits until `deadline` (returns at once if it has passed).
    pub async fn sleep_until(&self, deadline: Instant) {
        if Instant::now() >= deadline {
            return;
        }
        let (tx, rx) = oneshot::channel();
        let sent = crate::sync::lock(&self.requests)
            .send((deadline, tx))
            .is_ok();
        if sent {
            let _ = rx.await;
        } else {
            tokio::time::sleep_until(deadline.into()).await;
        }
    }
}

fn run(requests: mpsc::Receiver<(Instant, oneshot::Sender<()>)>) {
    let mut queue: BinaryHeap<Reverse<(Instant, u64)>> = BinaryHeap::new();
    let mut waiting: HashMap<u64, oneshot::Sender<()>> = HashMap::new();
    let mut next_id = 0u64;
    loop {
        let now = Instant::now();
        while let Some(Reverse((deadline, id))) = queue.peek().copied() {
            if deadline > now {
                break;
            }
            queue.pop();
            if let Some(waker) = waiting.remove(&id) {
                let _ = waker.send(());
            }
        }
        let received = match queue.peek() {
            Some(Reverse((deadline, _))) => {
                match requests.recv_timeout(deadline.saturating_duration_since(now)) {
                    Ok(request) => Some(request),
                    Err(mpsc::RecvTimeoutError::Timeout) => None,
                    Err(mpsc::RecvTimeoutError::Disconnected) => return,
                }
            }
            None => match requests.recv() {
                Ok(request) => Some(request),
                Err(_) => return,
            },
        };
        if let Some((deadline, waker)) = received {
            queue.push(Reverse((deadline, next_id)));
            waiting.insert(next_id, waker);
            next_id += 1;
        }
    }
}
