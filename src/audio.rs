//! The sound card of `locate --audio` (feature `audio`, cpal; ALSA on Linux): opens the
//! default output device and plays the clicks of a [`ToneGenerator`] fed through a
//! [`ClickSender`]. The detection path only ever calls [`ClickSender::send`], which never
//! blocks; the device's callback drains the bounded queue and renders without allocating.
//!
//! Failing to open the device (no sound card, no default device, an unusable configuration)
//! is an [`AudioError`]: `locate` prints it as one warning and goes on without sound.

use crate::locate::tone::ToneGenerator;
use crate::locate::tone::{click_channel, ClickSender, ClickStats, ToneConfig, ToneError};
use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{FromSample, SizedSample};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Why the sound card could not be used.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// The audio host has no default output device.
    #[error("no default audio output device (no sound card?)")]
    NoDevice,
    /// The device would not say how it plays.
    #[error("the audio output device \"{device}\" cannot be opened (no sound card?)")]
    Config {
        /// The device.
        device: String,
        /// What the host said.
        #[source]
        source: cpal::DefaultStreamConfigError,
    },
    /// The device plays a sample format this program does not write.
    #[error(
        "the audio output device \"{device}\" plays {format} samples, which are not supported"
    )]
    Format {
        /// The device.
        device: String,
        /// Its sample format.
        format: String,
    },
    /// The device's rate or the click settings do not fit.
    #[error("the audio output device \"{device}\" cannot play the clicks")]
    Tone {
        /// The device.
        device: String,
        /// What does not fit.
        #[source]
        source: ToneError,
    },
    /// The output stream could not be opened.
    #[error("opening an output stream on the audio device \"{device}\"")]
    Build {
        /// The device.
        device: String,
        /// What the host said.
        #[source]
        source: cpal::BuildStreamError,
    },
    /// The output stream could not be started.
    #[error("starting the output stream on the audio device \"{device}\"")]
    Play {
        /// The device.
        device: String,
        /// What the host said.
        #[source]
        source: cpal::PlayStreamError,
    },
}

/// The playing output: keep it alive as long as the clicks should sound.
pub struct AudioOut {
    // Dropping the stream stops the sound.
    _stream: cpal::Stream,
    sender: ClickSender,
    device: String,
    sample_rate_hz: f64,
    channels: usize,
    stream_errors: Arc<AtomicU64>,
}

impl std::fmt::Debug for AudioOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioOut")
            .field("device", &self.device)
            .field("sample_rate_hz", &self.sample_rate_hz)
            .field("channels", &self.channels)
            .finish_non_exhaustive()
    }
}

impl AudioOut {
    /// Opens the default output device of the default host and starts playing (silence until
    /// the first click).
    pub fn open_default() -> Result<Self, AudioError> {
        let host = cpal::default_host();
        let device = host.default_output_device().ok_or(AudioError::NoDevice)?;
        let name = device
            .name()
            .unwrap_or_else(|_| "(unnamed device)".to_string());
        let supported = device
            .default_output_config()
            .map_err(|source| AudioError::Config {
                device: name.clone(),
                source,
            })?;
        let format = supported.sample_format();
        let config: cpal::StreamConfig = supported.into();
        let sample_rate_hz = f64::from(config.sample_rate.0);
        let channels = usize::from(config.channels).max(1);
        let (sender, generator) =
            click_channel(ToneConfig::new(sample_rate_hz)).map_err(|source| AudioError::Tone {
                device: name.clone(),
                source,
            })?;
        let stream_errors = Arc::new(AtomicU64::new(0));
        let stream = match format {
            cpal::SampleFormat::F32 => build::<f32>(&device, &config, generator, &stream_errors),
            cpal::SampleFormat::I16 => build::<i16>(&device, &config, generator, &stream_errors),
            cpal::SampleFormat::U16 => build::<u16>(&device, &config, generator, &stream_errors),
            cpal::SampleFormat::I32 => build::<i32>(&device, &config, generator, &stream_errors),
            cpal::SampleFormat::F64 => build::<f64>(&device, &config, generator, &stream_errors),
            cpal::SampleFormat::I8 => build::<i8>(&device, &config, generator, &stream_errors),
            cpal::SampleFormat::U8 => build::<u8>(&device, &config, generator, &stream_errors),
            other => {
                return Err(AudioError::Format {
                    device: name,
                    format: other.to_string(),
                })
            }
        }
        .map_err(|source| AudioError::Build {
            device: name.clone(),
            source,
        })?;
        stream.play().map_err(|source| AudioError::Play {
            device: name.clone(),
            source,
        })?;
        Ok(AudioOut {
            _stream: stream,
            sender,
            device: name,
            sample_rate_hz,
            channels,
            stream_errors,
        })
    }

    /// The sender the detection path clicks with.
    pub fn sender(&self) -> ClickSender {
        self.sender.clone()
    }

    /// What became of the clicks so far.
    pub fn stats(&self) -> ClickStats {
        self.sender.stats()
    }

    /// "default (48000 Hz, 2 channels)".
    pub fn describe(&self) -> String {
        format!(
            "{} ({:.0} Hz, {} channel{})",
            self.device,
            self.sample_rate_hz,
            self.channels,
            if self.channels == 1 { "" } else { "s" }
        )
    }

    /// Errors the device reported while playing (an unplugged headset...).
    pub fn stream_errors(&self) -> u64 {
        self.stream_errors.load(Ordering::Relaxed)
    }
}

/// Opens an output stream of sample type `T` playing `generator`.
fn build<T>(
    device: &cpal::Device,
    config: &cpal::StreamConfig,
    mut generator: ToneGenerator,
    errors: &Arc<AtomicU64>,
) -> Result<cpal::Stream, cpal::BuildStreamError>
where
    T: SizedSample + FromSample<f32>,
{
    let channels = usize::from(config.channels).max(1);
    let errors = errors.clone();
    device.build_output_stream(
        config,
        move |out: &mut [T], _: &cpal::OutputCallbackInfo| {
            generator.drain_queue();
            for frame in out.chunks_mut(channels) {
                let s = T::from_sample(generator.next_sample());
                frame.fill(s);
            }
        },
        move |_err| {
            errors.fetch_add(1, Ordering::Relaxed);
        },
        None,
    )
}
