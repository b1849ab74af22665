//! ciot-sweep application library: sources, sinks, scenario synthesis and the command line's
//! building blocks. The signal processing lives in the `ciot-dsp` crate.

#![warn(missing_docs)]
