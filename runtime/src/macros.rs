//! `join!`, `try_join!` and `select!`: wait on several futures at once inside one task.
//!
//! They are plain `macro_rules!` macros that need nothing but `core`, so they take `!Send`
//! futures (and futures that borrow locals) like any other code on a ringbolt core.
//!
//! Rules:
//! 1. The futures are polled in place, inside the calling task: nothing is spawned.
//! 2. `join!` and `try_join!` poll a future only until it finishes; `try_join!` returns the
//!    first error at once and drops the other futures.
//! 3. `select!` polls the enabled branches starting from a different one at each call (or in
//!    written order with `biased;`), runs the handler of the first whose output matches its
//!    pattern, and drops every other future. A branch whose output does not match is disabled
//!    for the rest of that call.
//! 4. Handlers run outside the polling loop: `break`, `continue`, `return` and `?` in a
//!    handler act on the code around the macro.

/// Waits for every future and returns their outputs as a tuple, in the order written.
///
/// The futures run concurrently inside the current task (nothing is spawned), so they may be
/// `!Send` and may borrow locals. Use [`task::join_all`](crate::task::join_all) for a
/// collection of futures.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use ringbolt_runtime::time::sleep;
///
/// let rt = ringbolt_runtime::Runtime::new()?;
/// let (a, b) = rt.block_on(async {
///     let local = std::rc::Rc::new(40); // `!Send` is fine
///     ringbolt_runtime::join!(
///         async { sleep(Duration::from_millis(2)).await; *local + 1 },
///         async { sleep(Duration::from_millis(1)).await; 1 },
///     )
/// });
/// assert_eq!(a + b, 42);
/// # Ok::<(), std::io::Error>(())
/// ```
#[macro_export]
macro_rules! join {
    () => { () };
    (@munch { $($acc:tt)* }) => { $crate::join!(@expand $($acc)*) };
    (@munch { $($acc:tt)* } $e:expr $(, $($rest:tt)*)?) => {
        // `fut` and `out` are fresh identifiers at every step: each expansion is hygienic.
        $crate::join!(@munch { $($acc)* ($e, fut, out) } $($($rest)*)?)
    };
    (@expand $(($e:expr, $fut:ident, $out:ident))*) => {{
        $( let mut $fut = ::core::pin::pin!($e); let mut $out = ::core::option::Option::None; )*
        ::core::future::poll_fn(|__cx| {
            let mut __all = true;
            $(
                if $out.is_none() {
                    match ::core::future::Future::poll($fut.as_mut(), __cx) {
                        ::core::task::Poll::Ready(__v) => $out = ::core::option::Option::Some(__v),
                        ::core::task::Poll::Pending => __all = false,
                    }
                }
            )*
            if __all {
                if let ($(::core::option::Option::Some($out),)*) = ($($out.take(),)*) {
                    return ::core::task::Poll::Ready(($($out,)*));
                }
            }
            ::core::task::Poll::Pending
        })
        .await
    }};
    ($($e:expr),+ $(,)?) => { $crate::join!(@munch {} $($e),+) };
}

/// Waits for every future returning `Result`, and returns `Ok` with their outputs as a tuple,
/// or the first `Err` as soon as it happens (the other futures are dropped, which cancels
/// their I/O). Every future must have the same error type.
///
/// # Examples
///
/// ```
/// let rt = ringbolt_runtime::Runtime::new()?;
/// rt.block_on(async {
///     let ok: Result<(u8, &str), String> =
///         ringbolt_runtime::try_join!(async { Ok(1) }, async { Ok("two") });
///     assert_eq!(ok, Ok((1, "two")));
///
///     let err: Result<(u8, u8), String> = ringbolt_runtime::try_join!(
///         async { Err("failed".to_owned()) },
///         std::future::pending::<Result<u8, String>>(), // dropped, not awaited forever
///     );
///     assert_eq!(err, Err("failed".to_owned()));
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
#[macro_export]
macro_rules! try_join {
    (@munch { $($acc:tt)* }) => { $crate::try_join!(@expand $($acc)*) };
    (@munch { $($acc:tt)* } $e:expr $(, $($rest:tt)*)?) => {
        $crate::try_join!(@munch { $($acc)* ($e, fut, out) } $($($rest)*)?)
    };
    (@expand $(($e:expr, $fut:ident, $out:ident))*) => {{
        $( let mut $fut = ::core::pin::pin!($e); let mut $out = ::core::option::Option::None; )*
        ::core::future::poll_fn(|__cx| {
            let mut __all = true;
            $(
                if $out.is_none() {
                    match ::core::future::Future::poll($fut.as_mut(), __cx) {
                        ::core::task::Poll::Ready(::core::result::Result::Ok(__v)) => {
                            $out = ::core::option::Option::Some(__v)
                        }
                        ::core::task::Poll::Ready(::core::result::Result::Err(__e)) => {
                            return ::core::task::Poll::Ready(::core::result::Result::Err(__e));
                        }
                        ::core::task::Poll::Pending => __all = false,
                    }
                }
            )*
            if __all {
                if let ($(::core::option::Option::Some($out),)*) = ($($out.take(),)*) {
                    return ::core::task::Poll::Ready(::core::result::Result::Ok(($($out,)*)));
                }
            }
            ::core::task::Poll::Pending
        })
        .await
    }};
    ($($e:expr),+ $(,)?) => { $crate::try_join!(@munch {} $($e),+) };
}

/// Waits on several futures and runs the handler of the first one to finish; the others are
/// dropped (which cancels their I/O).
///
/// ```text
/// select! {
///     biased;                                      // optional: poll in written order
///     <pattern> = <future> [, if <condition>] => <handler>,
///     ...
///     else => <expression>                         // optional
/// }
/// ```
///
/// 1. Every `<condition>` is evaluated; a branch whose condition is false is disabled.
/// 2. Every `<future>` is evaluated (disabled ones too, but they are never polled).
/// 3. The enabled futures are polled, starting from a different branch at each call unless
///    `biased;` is given. When one finishes and its output matches `<pattern>`, the others are
///    dropped and its handler runs with the pattern's bindings; the `select!` evaluates to the
///    handler's value. An output that does not match disables that branch and polling goes on.
/// 4. If every branch is disabled, the `else` expression is the value.
///
/// Handlers run after polling has finished, so `break`, `continue`, `return` and `?` apply to
/// the code around the macro. At most 64 branches.
///
/// Losing futures are dropped, which cancels their I/O. On io_uring the kernel may have
/// completed an operation anyway: `ringbolt_net`'s stream reads, accepts, `Incoming` and
/// `RecvStream` keep what it completed (bytes, connections) on their socket for the next read
/// or accept, so they are safe in a `select!` loop, as in tokio. Loops over several operations
/// (`read_exact`, `write_all`) are not: their progress is dropped with them. See
/// `docs/cancellation.md`.
///
/// # Panics
///
/// Panics if every branch is disabled and there is no `else` branch.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use ringbolt_runtime::sync::mpsc;
/// use ringbolt_runtime::time::sleep;
///
/// let rt = ringbolt_runtime::Runtime::new()?;
/// let got = rt.block_on(async {
///     let (small_tx, mut small) = mpsc::channel::<u32>(8);
///     let (big_tx, mut big) = mpsc::channel::<u32>(8);
///     ringbolt_runtime::spawn(async move {
///         for i in 0..3 {
///             small_tx.send(i).await.unwrap();
///             big_tx.send(i + 100).await.unwrap();
///         }
///     });
///     let mut got = Vec::new();
///     loop {
///         ringbolt_runtime::select! {
///             Some(v) = small.recv() => got.push(v),
///             Some(v) = big.recv() => got.push(v),
///             _ = sleep(Duration::from_secs(5)), if got.is_empty() => panic!("nothing came"),
///             else => break, // both channels closed (and `got` is not empty)
///         }
///     }
///     got.sort();
///     got
/// });
/// assert_eq!(got, [0, 1, 2, 100, 101, 102]);
/// # Ok::<(), std::io::Error>(())
/// ```
#[macro_export]
macro_rules! select {
    (biased; $($t:tt)*) => { $crate::__select_parse!(@branches true; []; (); $($t)*) };
    ($($t:tt)*) => { $crate::__select_parse!(@branches false; []; (); $($t)*) };
}

/// Parses `select!` branches into `{ fut [pattern] (future) (condition) {handler} (index) }`.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_parse {
    (@branches $biased:tt; $b:tt; $n:tt; else => $e:expr $(,)?) => {
        $crate::__select_expand!($biased; $b; $n; { $e })
    };
    (@branches $biased:tt; $b:tt; $n:tt;) => {
        $crate::__select_expand!($biased; $b; $n; {
            ::core::panic!("select!: every branch is disabled and there is no else branch")
        })
    };
    (@branches $biased:tt; $b:tt; $n:tt; $($rest:tt)+) => {
        $crate::__select_parse!(@pat $biased; $b; $n; []; $($rest)+)
    };
    (@pat $biased:tt; $b:tt; $n:tt; [$($p:tt)*]; = $($rest:tt)*) => {
        $crate::__select_parse!(@fut $biased; $b; $n; [$($p)*]; $($rest)*)
    };
    (@pat $biased:tt; $b:tt; $n:tt; [$($p:tt)*]; $t:tt $($rest:tt)*) => {
        $crate::__select_parse!(@pat $biased; $b; $n; [$($p)* $t]; $($rest)*)
    };
    (@fut $biased:tt; [$($b:tt)*]; ($($n:tt)*); $p:tt; $f:expr, if $c:expr => $h:block, $($rest:tt)*) => {
        $crate::__select_parse!(@branches $biased; [$($b)* { fut $p ($f) ($c) $h ($($n)*) }]; ($($n)* _); $($rest)*)
    };
    (@fut $biased:tt; [$($b:tt)*]; ($($n:tt)*); $p:tt; $f:expr, if $c:expr => $h:block $($rest:tt)*) => {
        $crate::__select_parse!(@branches $biased; [$($b)* { fut $p ($f) ($c) $h ($($n)*) }]; ($($n)* _); $($rest)*)
    };
    (@fut $biased:tt; [$($b:tt)*]; ($($n:tt)*); $p:tt; $f:expr => $h:block, $($rest:tt)*) => {
        $crate::__select_parse!(@branches $biased; [$($b)* { fut $p ($f) (true) $h ($($n)*) }]; ($($n)* _); $($rest)*)
    };
    (@fut $biased:tt; [$($b:tt)*]; ($($n:tt)*); $p:tt; $f:expr => $h:block $($rest:tt)*) => {
        $crate::__select_parse!(@branches $biased; [$($b)* { fut $p ($f) (true) $h ($($n)*) }]; ($($n)* _); $($rest)*)
    };
    (@fut $biased:tt; [$($b:tt)*]; ($($n:tt)*); $p:tt; $f:expr, if $c:expr => $h:expr $(, $($rest:tt)*)?) => {
        $crate::__select_parse!(@branches $biased; [$($b)* { fut $p ($f) ($c) { $h } ($($n)*) }]; ($($n)* _); $($($rest)*)?)
    };
    (@fut $biased:tt; [$($b:tt)*]; ($($n:tt)*); $p:tt; $f:expr => $h:expr $(, $($rest:tt)*)?) => {
        $crate::__select_parse!(@branches $biased; [$($b)* { fut $p ($f) (true) { $h } ($($n)*) }]; ($($n)* _); $($($rest)*)?)
    };
}

/// Expands parsed `select!` branches (see `__select_parse`).
#[doc(hidden)]
#[macro_export]
macro_rules! __select_expand {
    ($biased:tt; [$({ $fut:ident [$($p:tt)*] $f:tt $c:tt $h:tt ($($i:tt)*) })*]; ($($n:tt)*); $else:tt) => {{
        // The futures live only in this block: they are dropped before a handler runs, so a
        // handler may use what they borrowed.
        let __out: ::core::option::Option<$crate::__select_ty!($($n)*)> = {
            let mut __disabled: u64 = 0;
            $( if !$c { __disabled |= 1u64 << $crate::__select_count!($($i)*); } )*
            $( let mut $fut = ::core::pin::pin!($f); )*
            ::core::future::poll_fn(|__cx| {
                const __N: u32 = $crate::__select_count!($($n)*);
                let __start: u32 = $crate::__select_start!($biased, __N);
                let mut __pending = false;
                for __k in 0..__N {
                    let mut __b = __start + __k;
                    if __b >= __N {
                        __b -= __N;
                    }
                    $(
                        if __b == $crate::__select_count!($($i)*) && __disabled & (1u64 << __b) == 0 {
                            match ::core::future::Future::poll($fut.as_mut(), __cx) {
                                ::core::task::Poll::Ready(__v) => {
                                    let __matched = match &__v {
                                        #[allow(unused_variables)]
                                        $crate::__select_clean!(@ {} {} $($p)*) => true,
                                        #[allow(unreachable_patterns)]
                                        _ => false,
                                    };
                                    if __matched {
                                        return ::core::task::Poll::Ready(::core::option::Option::Some(
                                            $crate::__select_wrap!(($($i)*) __v),
                                        ));
                                    }
                                    __disabled |= 1u64 << __b;
                                }
                                ::core::task::Poll::Pending => __pending = true,
                            }
                        }
                    )*
                }
                if __pending {
                    ::core::task::Poll::Pending
                } else {
                    ::core::task::Poll::Ready(::core::option::Option::None)
                }
            })
            .await
        };
        match __out {
            $( ::core::option::Option::Some($crate::__select_pat!(($($i)*) $($p)*)) => $h, )*
            ::core::option::Option::None => $else,
            #[allow(unreachable_patterns)]
            _ => ::core::unreachable!("select!: an output matched its pattern by reference only"),
        }
    }};
}

/// Counts `_` tokens: a branch's index, or the number of branches.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_count {
    () => { 0 };
    (_ $($rest:tt)*) => { 1 + $crate::__select_count!($($rest)*) };
}

/// The first branch to poll: 0 when biased, else rotating per call site and thread.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_start {
    (true, $n:expr) => {
        0
    };
    (false, $n:expr) => {{
        ::std::thread_local! {
            static __NEXT: ::core::cell::Cell<u32> = const { ::core::cell::Cell::new(0) };
        }
        __NEXT.with(|__c| {
            let __s = if __c.get() >= $n { 0 } else { __c.get() };
            __c.set(if __s + 1 >= $n { 0 } else { __s + 1 });
            __s
        })
    }};
}

/// The output type: `Either<_, Either<_, ... Infallible>>`, one level per branch.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_ty {
    () => { ::core::convert::Infallible };
    (_ $($rest:tt)*) => { $crate::task::Either<_, $crate::__select_ty!($($rest)*)> };
}

/// Wraps branch `i`'s output: `Right(Right(... Left(v)))` with `i` `Right`s.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_wrap {
    (() $v:expr) => { $crate::task::Either::Left($v) };
    ((_ $($rest:tt)*) $v:expr) => { $crate::task::Either::Right($crate::__select_wrap!(($($rest)*) $v)) };
}

/// The pattern matching branch `i`'s wrapped output.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_pat {
    (() $($p:tt)*) => { $crate::task::Either::Left($($p)*) };
    ((_ $($rest:tt)*) $($p:tt)*) => { $crate::task::Either::Right($crate::__select_pat!(($($rest)*) $($p)*)) };
}

/// Strips `mut` and `ref` from a pattern so it can test an output by reference without
/// moving it: `@ {output so far} {stack of open groups} input`.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_clean {
    (@ {$($out:tt)*} {}) => { $($out)* };
    (@ {$($out:tt)*} {[p {$($prev:tt)*} {$($rest:tt)*}] $($stack:tt)*}) => {
        $crate::__select_clean!(@ {$($prev)* ($($out)*)} {$($stack)*} $($rest)*)
    };
    (@ {$($out:tt)*} {[b {$($prev:tt)*} {$($rest:tt)*}] $($stack:tt)*}) => {
        $crate::__select_clean!(@ {$($prev)* [$($out)*]} {$($stack)*} $($rest)*)
    };
    (@ {$($out:tt)*} {[c {$($prev:tt)*} {$($rest:tt)*}] $($stack:tt)*}) => {
        $crate::__select_clean!(@ {$($prev)* {$($out)*}} {$($stack)*} $($rest)*)
    };
    (@ $out:tt $stack:tt mut $($rest:tt)*) => { $crate::__select_clean!(@ $out $stack $($rest)*) };
    (@ $out:tt $stack:tt ref $($rest:tt)*) => { $crate::__select_clean!(@ $out $stack $($rest)*) };
    (@ {$($out:tt)*} {$($stack:tt)*} ($($inner:tt)*) $($rest:tt)*) => {
        $crate::__select_clean!(@ {} {[p {$($out)*} {$($rest)*}] $($stack)*} $($inner)*)
    };
    (@ {$($out:tt)*} {$($stack:tt)*} [$($inner:tt)*] $($rest:tt)*) => {
        $crate::__select_clean!(@ {} {[b {$($out)*} {$($rest)*}] $($stack)*} $($inner)*)
    };
    (@ {$($out:tt)*} {$($stack:tt)*} {$($inner:tt)*} $($rest:tt)*) => {
        $crate::__select_clean!(@ {} {[c {$($out)*} {$($rest)*}] $($stack)*} $($inner)*)
    };
    (@ {$($out:tt)*} $stack:tt $t:tt $($rest:tt)*) => {
        $crate::__select_clean!(@ {$($out)* $t} $stack $($rest)*)
    };
}
