//! Parsing of the macros' arguments (`cores = 4`, `timeout_ms = 500`, `crate = "..."`).

use proc_macro2::{Span, TokenStream};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Lit, Meta, Token};

/// How many cores `#[ringbolt::main]` starts.
#[derive(Debug, PartialEq)]
pub(crate) enum Cores {
    /// One runtime on the calling thread.
    Current,
    /// `launch` with this many cores.
    Count(usize),
    /// `launch` with one core per allowed CPU.
    All,
}

/// The arguments of either macro, validated.
pub(crate) struct Args {
    pub(crate) cores: Cores,
    pub(crate) timeout_ms: Option<u64>,
    pub(crate) krate: syn::Path,
}

/// Which macro is parsing: each takes its own set of arguments.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Kind {
    Main,
    Test,
}

impl Kind {
    fn expected(self) -> &'static str {
        match self {
            Kind::Main => "`cores = N`, `cores = \"all\"` or `crate = \"path\"`",
            Kind::Test => "`timeout_ms = N`, `timeout = \"5s\"` or `crate = \"path\"`",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Main => "#[ringbolt::main]",
            Kind::Test => "#[ringbolt::test]",
        }
    }
}

pub(crate) fn parse(kind: Kind, tokens: TokenStream) -> syn::Result<Args> {
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(tokens)?;
    let mut args = Args {
        cores: Cores::Current,
        timeout_ms: None,
        krate: syn::parse_quote!(::ringbolt),
    };
    let mut seen: Vec<String> = Vec::new();
    for meta in metas {
        let Meta::NameValue(nv) = &meta else {
            return Err(syn::Error::new_spanned(
                &meta,
                format!(
                    "{}: expected `name = value`, one of {}",
                    kind.name(),
                    kind.expected()
                ),
            ));
        };
        let name = nv
            .path
            .get_ident()
            .map(|i| i.to_string())
            .unwrap_or_default();
        if seen.contains(&name) {
            return Err(syn::Error::new_spanned(
                &nv.path,
                format!("{}: `{name}` given twice", kind.name()),
            ));
        }
        let value = &nv.value;
        match (kind, name.as_str()) {
            (Kind::Main, "cores") => args.cores = cores(value)?,
            (Kind::Test, "timeout_ms") => args.timeout_ms = Some(int(value, "timeout_ms")?),
            (Kind::Test, "timeout") => args.timeout_ms = Some(duration_ms(value)?),
            (_, "crate") => args.krate = string(value, "crate")?.parse()?,
            (Kind::Test, "cores") => {
                return Err(syn::Error::new_spanned(
                    &nv.path,
                    "#[ringbolt::test] runs on one core; `cores` is for #[ringbolt::main] \
                     (use `Builder::launch` in the test for several cores)",
                ))
            }
            _ => {
                return Err(syn::Error::new_spanned(
                    &nv.path,
                    format!(
                        "{}: unknown argument `{}`; expected {}",
                        kind.name(),
                        quote::ToTokens::to_token_stream(&nv.path),
                        kind.expected()
                    ),
                ))
            }
        }
        seen.push(name);
    }
    Ok(args)
}

fn lit(value: &Expr) -> Option<&Lit> {
    match value {
        Expr::Lit(ExprLit { lit, .. }) => Some(lit),
        _ => None,
    }
}

fn cores(value: &Expr) -> syn::Result<Cores> {
    let bad = || {
        syn::Error::new_spanned(
            value,
            "`cores` takes a number of cores (`cores = 4`) or \"all\" (`cores = \"all\"`)",
        )
    };
    match lit(value) {
        Some(Lit::Int(i)) => match i.base10_parse::<usize>() {
            Ok(0) => Err(syn::Error::new_spanned(value, "`cores` must be at least 1")),
            Ok(n) => Ok(Cores::Count(n)),
            Err(_) => Err(bad()),
        },
        Some(Lit::Str(s)) if s.value() == "all" => Ok(Cores::All),
        _ => Err(bad()),
    }
}

fn int(value: &Expr, name: &str) -> syn::Result<u64> {
    match lit(value) {
        Some(Lit::Int(i)) => i.base10_parse::<u64>(),
        _ => Err(syn::Error::new_spanned(
            value,
            format!("`{name}` takes a whole number of milliseconds, e.g. `{name} = 500`"),
        )),
    }
}

fn string(value: &Expr, name: &str) -> syn::Result<syn::LitStr> {
    match lit(value) {
        Some(Lit::Str(s)) => Ok(s.clone()),
        _ => Err(syn::Error::new_spanned(
            value,
            format!("`{name}` takes a string, e.g. `{name} = \"my_ringbolt\"`"),
        )),
    }
}

/// `"5s"`, `"250ms"` or a bare number of seconds.
fn duration_ms(value: &Expr) -> syn::Result<u64> {
    let bad = |span: Span| {
        syn::Error::new(
            span,
            "`timeout` takes a duration such as \"5s\" or \"250ms\" (or use `timeout_ms = N`)",
        )
    };
    match lit(value) {
        Some(Lit::Int(i)) => i
            .base10_parse::<u64>()
            .map(|s| s.saturating_mul(1000))
            .map_err(|_| bad(i.span())),
        Some(Lit::Str(s)) => {
            let text = s.value();
            let text = text.trim();
            let (num, scale) = if let Some(n) = text.strip_suffix("ms") {
                (n, 1)
            } else if let Some(n) = text.strip_suffix('s') {
                (n, 1000)
            } else {
                return Err(bad(s.span()));
            };
            num.trim()
                .parse::<u64>()
                .map(|n| n.saturating_mul(scale))
                .map_err(|_| bad(s.span()))
        }
        _ => Err(bad(syn::spanned::Spanned::span(value))),
    }
}
