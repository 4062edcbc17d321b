//! Progress on stderr for scans that take a while on big cores: drawn only when stderr is a
//! terminal and the output is not JSON, so pipes and scripts never see it.

use std::time::Duration;

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

    /// Changes the message.
    pub fn set_message(&self, message: &'static str) {
        if let Some(bar) = &self.0 {
            bar.set_message(message);
        }
    }

    /// Removes the spinner.
    pub fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
