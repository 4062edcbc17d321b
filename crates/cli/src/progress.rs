//! Progress on stderr for scans that take a while on big cores: drawn only when stderr is a
//! terminal and the output is not JSON, so pipes and scripts never see it.

use std::sync::Mutex;
use std::time::Duration;

use coroner_analysis::Stage;
use indicatif::{ProgressBar, ProgressStyle};

/// A spinner with a message, or nothing.
pub struct Progress(Option<ProgressBar>);

impl Progress {
    /// A spinner showing `message` when `enabled`.
    pub fn spinner(enabled: bool, message: &'static str) -> Progress {
        if !enabled {
            return Progress(None);
        }
        let bar = ProgressBar::new_spinner();
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
            bar.set_style(style);
        }
        bar.set_message(message);
        bar.enable_steady_tick(Duration::from_millis(100));
        Progress(Some(bar))
    }

    /// Removes the spinner.
    pub fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

/// A spinner for each stage of the analyses while it runs (see [`coroner_analysis::Progress`]).
pub struct Spinners {
    enabled: bool,
    current: Mutex<Option<Progress>>,
}

impl Spinners {
    /// Spinners on stderr when `enabled`; nothing otherwise.
    pub fn new(enabled: bool) -> Spinners {
        Spinners {
            enabled,
            current: Mutex::new(None),
        }
    }
}

impl coroner_analysis::Progress for Spinners {
    fn begin(&self, stage: Stage) {
        let message = match stage {
            Stage::IndexingObjects => "indexing heap objects",
            Stage::IndexingReferences => "indexing references",
            Stage::Unwinding => "unwinding threads",
            Stage::FindingRoots => "finding GC roots",
            Stage::Dominators => "computing retained sizes",
            Stage::WritingSnapshot => "writing the heap snapshot",
            Stage::FindingLeaks => "looking for leak suspects",
            Stage::ComparingCores => "matching the objects of the two cores",
        };
        if let Ok(mut current) = self.current.lock() {
            *current = Some(Progress::spinner(self.enabled, message));
        }
    }

    fn end(&self, _: Stage) {
        if let Ok(mut current) = self.current.lock() {
            if let Some(p) = current.take() {
                p.finish();
            }
        }
    }
}
