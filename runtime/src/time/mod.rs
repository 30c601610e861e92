//! Timers: placeholder until the time module lands.
