//! Memory registered with a core's ring: fixed buffers ([`fixed`]) and provided-buffer rings
//! ([`provided`]). They live with the driver because they register with it and must reach it
//! again to unregister (through a `DriverHandle`); their public
//! paths are `ringbolt_runtime::buf::fixed` and `ringbolt_runtime::buf::provided`.

pub mod fixed;
pub mod provided;
