//! `ciot-sweep locate INPUT|--device ARGS`: the proximity meter. The same pipeline as
//! `scan` (a file replays in real time with `--realtime`), shown as a live table of emitters
//! ([`crate::locate::Meter`]) on a terminal, or one plain line per burst without one.

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
    /// Set when the user pressed q.
    pub quit: bool,
}

impl LocateUi {
    /// A full-screen meter when standard output is a terminal, else plain lines.
    pub fn new(status: String) -> Result<Self> {
        let mut term = None;
        if std::io::stdout().is_terminal() {
            enable_raw_mode()?;
            let mut out = std::io::stdout();
            out.execute(EnterAlternateScreen)?;
            term = Some(Terminal::new(CrosstermBackend::new(out))?);
        }
        let mut meter = Meter::default();
        meter.status = status;
        Ok(LocateUi {
            meter,
            term,
            last_draw: Instant::now() - FRAME,
            quit: false,
        })
    }

    /// A burst, tracked.
    pub fn on_detection(&mut self, r: &DetectionRecord, e: &Emitter) -> Result<()> {
        self.meter.on_detection(r, e);
        if self.term.is_none() {
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
