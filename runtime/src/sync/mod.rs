//! Local sync primitives: placeholder until the sync module lands.
