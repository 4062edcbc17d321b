//! A tiny thread pool: run independent jobs N at a time, handling each result (on the calling
//! thread) as soon as it is ready.

use std::collections::VecDeque;
use std::sync::{mpsc, Mutex};

/// Runs `work` on every item, at most `jobs` at a time, and calls `done` on the calling thread
/// with each item's index and result, in order of completion.
pub fn run<T, R, W, D>(items: &[T], jobs: usize, work: W, mut done: D)
where
    T: Sync,
    R: Send,
    W: Fn(&T) -> R + Sync,
    D: FnMut(usize, R),
{
    let queue = Mutex::new((0..items.len()).collect::<VecDeque<usize>>());
    let (sender, receiver) = mpsc::channel();
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, items.len().max(1)) {
            let sender = sender.clone();
            let (queue, work) = (&queue, &work);
            scope.spawn(move || loop {
                let next = queue.lock().map(|mut q| q.pop_front()).unwrap_or(None);
                let Some(index) = next else { break };
                if sender.send((index, work(&items[index]))).is_err() {
                    break;
                }
            });
        }
        drop(sender);
        for (index, result) in receiver {
            done(index, result);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_every_item_once() {
        let items: Vec<u32> = (0..20).collect();
        let mut seen = [0; 20];
        run(
            &items,
            3,
            |x| x * 2,
            |i, r| {
                assert_eq!(r, items[i] * 2);
                seen[i] += 1;
            },
        );
        assert!(seen.iter().all(|&n| n == 1));
    }
}
