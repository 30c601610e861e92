//! `#[ringbolt::main]` and `#[ringbolt::test]`: start a ringbolt runtime around an `async fn`.
//!
//! Use them through the `ringbolt` facade (`#[ringbolt::main]`), which re-exports them; the
//! expansion names only `::ringbolt` paths (or the path given with `crate = "..."`), so a
//! crate that depends on `ringbolt` alone can use them.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod args;
mod expand;

use proc_macro::TokenStream;

/// Runs an `async fn main` on ringbolt.
///
/// - `#[ringbolt::main]`: one runtime on the main thread (`Runtime::new` + `block_on`).
/// - `#[ringbolt::main(cores = N)]`: `Builder::launch` on `N` pinned cores, running the body
///   on every core (`ringbolt::core_id()` tells which); `cores = "all"` takes one core per
///   CPU this process may run on. `main` must then return `()` or `Result<(), E>` with
///   `E: Send` (each core's result crosses threads); the first core's error (in core order)
///   is returned. A panic on a core is reported as an error naming the core.
/// - `crate = "path"`: the path of the `ringbolt` crate, if renamed.
///
/// If the runtime cannot start (io_uring unavailable), the error, which names the cause and
/// the fix, is printed to stderr and the process exits with status 1.
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::main(args.into(), item.into()).into()
}

/// Runs an `async fn` test on a fresh ringbolt runtime (one core, on the test's thread).
///
/// - `timeout_ms = N` or `timeout = "5s"` / `"250ms"`: the test fails with "timed out"
///   if the future is still pending after that long. (A test that blocks its thread in a
///   synchronous call is not interrupted.)
/// - `crate = "path"`: the path of the `ringbolt` crate, if renamed.
///
/// Other attributes on the function (`#[should_panic]`, `#[ignore]`) are kept.
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::test(args.into(), item.into()).into()
}
