//! `ciot-sweep locate INPUT|--device ARGS`: the proximity meter. The same pipeline as
//! `scan` (a file replays in real time with `--realtime`), shown as a live table of emitters
//! ([`crate::locate::Meter`]) on a terminal, or one plain line per burst without one.
//! With `--audio` (feature `audio`), a click per burst of the pinned emitter
//! ([`crate::locate::tone`]); a missing sound card is a warning, never an error.

use crate::locate::tone::{ClickSender, ClickStats};
use crate::locate::Meter;
use crate::record::DetectionRecord;
use crate::track::Emitter;
use anyhow::Result;
use ratatui::crossterm::event::{self, Event as TermEvent, KeyCode, KeyEventKind};
use ratatui::crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::crossterm::ExecutableCommand;
use ratatui::prelude::CrosstermBackend;
use ratatui::Terminal;
use std::io::{IsTerminal, Stdout, Write};
use std::time::{Duration, Instant};

/// Redraws at most this often.
const FRAME: Duration = Duration::from_millis(100);

/// The meter on a terminal, or plain lines.
pub struct LocateUi {
    meter: Meter,
    term: Option<Terminal<CrosstermBackend<Stdout>>>,
    last_draw: Instant,
    clicks: Option<ClickSender>,
    announced_pin: Option<u64>,
    /// Set when the user pressed q.
    pub quit: bool,
}

/// The sound of `locate --audio`: the playing device, kept alive while locate runs.
#[derive(Debug)]
pub struct Audio {
    #[cfg(feature = "audio")]
    out: crate::audio::AudioOut,
}

impl Audio {
    /// The sender the meter clicks with.
    pub fn sender(&self) -> ClickSender {
        #[cfg(feature = "audio")]
        {
            self.out.sender()
        }
        #[cfg(not(feature = "audio"))]
        {
            unreachable!("no Audio without the `audio` feature")
        }
    }

    /// "audio: 12 clicks played, 0 dropped" for the summary.
    pub fn summary(&self) -> String {
        #[cfg(feature = "audio")]
        {
            let errors = self.out.stream_errors();
            format!(
                "{}{}",
                click_summary(&self.out.stats()),
                if errors > 0 {
                    format!(", {errors} errors from the audio device")
                } else {
                    String::new()
                }
            )
        }
        #[cfg(not(feature = "audio"))]
        {
            unreachable!("no Audio without the `audio` feature")
        }
    }
}

/// "audio: B bursts of the pinned emitter, N clicks played, M dropped (Q queue full, V too
/// many at once)".
pub fn click_summary(s: &ClickStats) -> String {
    format!(
        "audio: {} bursts of the pinned emitter, {} clicks played, {} dropped ({} queue full, \
         {} too many at once)",
        s.sent,
        s.played,
        s.dropped(),
        s.dropped_queue_full,
        s.dropped_voices_busy
    )
}

/// Opens the default sound card for `locate --audio`. `Ok(None)` when it cannot be used: the
/// reason is printed as one warning on stderr and locate goes on without sound.
#[cfg(feature = "audio")]
pub fn open_audio() -> Result<Option<Audio>> {
    match crate::audio::AudioOut::open_default() {
        Ok(out) => {
            eprintln!(
                "audio: a click per burst of the pinned emitter on {}",
                out.describe()
            );
            Ok(Some(Audio { out }))
        }
        Err(e) => {
            eprintln!(
                "warning: no sound (--audio): {:#}; locate goes on without it",
                anyhow::Error::from(e)
            );
            Ok(None)
        }
    }
}

/// `locate --audio` in a build without the `audio` feature: an error that says how to build
/// it (as `--device` without `soapy`).
#[cfg(not(feature = "audio"))]
pub fn open_audio() -> Result<Option<Audio>> {
    anyhow::bail!(
        "cannot play the locate tone (--audio): this build of ciot-sweep lacks the `audio` \
         feature; rebuild with `cargo build --release --features audio` (needs libasound2-dev)"
    )
}

impl LocateUi {
    /// A full-screen meter when standard output is a terminal, else plain lines. `pin`:
    /// the emitter pinned from the start (`--pin`); `clicks`: where the pinned emitter's
    /// bursts click (`--audio`).
    pub fn new(status: String, pin: Option<u64>, clicks: Option<ClickSender>) -> Result<Self> {
        let mut term = None;
        if std::io::stdout().is_terminal() {
            enable_raw_mode()?;
            let mut out = std::io::stdout();
            out.execute(EnterAlternateScreen)?;
            term = Some(Terminal::new(CrosstermBackend::new(out))?);
        }
        let mut meter = Meter::default();
        meter.status = status;
        if let Some(id) = pin {
            meter.pin(id);
        }
        Ok(LocateUi {
            meter,
            term,
            last_draw: Instant::now() - FRAME,
            clicks,
            announced_pin: None,
            quit: false,
        })
    }

    /// A burst, tracked: a row of the meter (or a plain line), and a click when it is the
    /// pinned emitter's.
    pub fn on_detection(&mut self, r: &DetectionRecord, e: &Emitter) -> Result<()> {
        self.meter.on_detection(r, e);
        let pinned = self.meter.pinned();
        if let Some(c) = &self.clicks {
            if pinned == Some(e.id) {
                // Never blocks: a full queue drops (and counts) the click.
                c.send(r.snr_db);
            }
        }
        if self.term.is_none() {
            // Plain lines: say which emitter the clicks follow when that changes.
            if self.clicks.is_some() && pinned != self.announced_pin {
                if let Some(row) = pinned.and_then(|p| self.meter.row(p)) {
                    eprintln!("audio: clicks follow emitter #{} {}", row.id, row.label);
                    self.announced_pin = pinned;
                }
            }
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", self.meter.plain_line(r))?;
        }
        self.tick(true)
    }

    /// A front-end notice (clipping...): shown in the status line, or on stderr.
    pub fn notice(&mut self, n: &str) {
        if self.term.is_some() {
            self.meter.status = n.to_string();
        } else {
            eprintln!("warning: {n}");
        }
    }

    /// The stream clock moved.
    pub fn on_progress(&mut self, now_s: f64) -> Result<()> {
        self.meter.set_now(now_s);
        self.tick(false)
    }

    /// Handles keys and redraws (at most every 100 ms unless `force`).
    pub fn tick(&mut self, force: bool) -> Result<()> {
        let Some(term) = self.term.as_mut() else {
            return Ok(());
        };
        while event::poll(Duration::ZERO)? {
            if let TermEvent::Key(k) = event::read()? {
                if k.kind != KeyEventKind::Press {
                    continue;
                }
                match k.code {
                    KeyCode::Char('q') | KeyCode::Esc => self.quit = true,
                    KeyCode::Char('r') => self.meter.reset_peaks(),
                    KeyCode::Down | KeyCode::Char('j') => self.meter.move_pin(1),
                    KeyCode::Up | KeyCode::Char('k') => self.meter.move_pin(-1),
                    _ => {}
                }
            }
        }
        if force || self.last_draw.elapsed() >= FRAME {
            let meter = &self.meter;
            term.draw(|f| {
                let area = f.area();
                meter.render(area, f.buffer_mut());
            })?;
            self.last_draw = Instant::now();
        }
        Ok(())
    }

    /// At the end of a replay: keep the table until q.
    pub fn hold(&mut self, status: String) -> Result<()> {
        self.meter.status = status;
        if self.term.is_none() {
            return Ok(());
        }
        self.tick(true)?;
        while !self.quit {
            if event::poll(Duration::from_millis(200))? {
                self.tick(true)?;
            }
        }
        Ok(())
    }
}

impl Drop for LocateUi {
    fn drop(&mut self) {
        if self.term.is_some() {
            let _ = disable_raw_mode();
            let _ = std::io::stdout().execute(LeaveAlternateScreen);
        }
    }
}
