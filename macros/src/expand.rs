//! The expansions. Both wrap the user's body in an inner `async fn` with the same return
//! type, so `?` and `return` behave as in any `async fn`, and call it from a plain `fn`.

use crate::args::{self, Args, Cores, Kind};
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{ItemFn, ReturnType};

pub(crate) fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    match parse(Kind::Main, args, item.clone()) {
        Ok((args, f)) => main_body(&args, f),
        Err(e) => {
            let error = e.to_compile_error();
            // A stand-in `fn main` (never run: compilation fails) so the only error shown is
            // the one above, not also "`main` function not found".
            match syn::parse2::<ItemFn>(item) {
                Ok(mut f) => {
                    f.sig.asyncness = None;
                    f.sig.inputs.clear();
                    let (attrs, vis, sig) = (&f.attrs, &f.vis, &f.sig);
                    quote! {
                        #error
                        #(#attrs)*
                        #vis #sig { ::core::unreachable!() }
                    }
                }
                Err(_) => error,
            }
        }
    }
}

pub(crate) fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    match parse(Kind::Test, args, item) {
        Ok((args, f)) => test_body(&args, f),
        Err(e) => e.to_compile_error(),
    }
}

fn parse(kind: Kind, args: TokenStream, item: TokenStream) -> syn::Result<(Args, ItemFn)> {
    let name = match kind {
        Kind::Main => "#[ringbolt::main]",
        Kind::Test => "#[ringbolt::test]",
    };
    let args = args::parse(kind, args)?;
    let f: ItemFn = syn::parse2(item)
        .map_err(|e| syn::Error::new(e.span(), format!("{name} goes on an `async fn`: {e}")))?;
    if f.sig.asyncness.is_none() {
        return Err(syn::Error::new_spanned(
            f.sig.fn_token,
            format!("{name} needs an `async fn`: add `async` before `fn`"),
        ));
    }
    if !f.sig.inputs.is_empty() {
        return Err(syn::Error::new_spanned(
            &f.sig.inputs,
            format!("{name} functions take no arguments"),
        ));
    }
    if !f.sig.generics.params.is_empty() || f.sig.generics.where_clause.is_some() {
        return Err(syn::Error::new_spanned(
            &f.sig.generics,
            format!("{name} functions cannot be generic"),
        ));
    }
    Ok((args, f))
}

/// The inner `async fn` holding the user's body, and the outer signature without `async`.
fn split(f: ItemFn) -> (TokenStream, ItemFn) {
    let output = &f.sig.output;
    let body = &f.block;
    let inner = quote_spanned! {body.span()=>
        async fn __ringbolt_body() #output #body
    };
    let mut outer = f;
    outer.sig.asyncness = None;
    (inner, outer)
}

fn main_body(args: &Args, f: ItemFn) -> TokenStream {
    let krate = &args.krate;
    let (inner, outer) = split(f);
    let attrs = &outer.attrs;
    let vis = &outer.vis;
    let sig = &outer.sig;
    let run = match args.cores {
        Cores::Current => quote! {
            let rt = match #krate::Runtime::new() {
                Ok(rt) => rt,
                Err(e) => {
                    ::std::eprintln!("error: could not start ringbolt: {e}");
                    ::std::process::exit(1)
                }
            };
            rt.block_on(__ringbolt_body())
        },
        Cores::Count(_) | Cores::All => {
            let cores = match args.cores {
                Cores::Count(n) => quote!(.cores(#n)),
                _ => quote!(),
            };
            let output = match &sig.output {
                ReturnType::Default => quote!(()),
                ReturnType::Type(_, t) => quote!(#t),
            };
            quote! {
                let results = match #krate::Builder::new()
                    #cores
                    .launch(|_core| __ringbolt_body())
                {
                    Ok(results) => results,
                    // A core that could not start, or whose body panicked (the error says
                    // which core and why).
                    Err(e) => {
                        ::std::eprintln!("error: ringbolt: {e}");
                        ::std::process::exit(1)
                    }
                };
                <#output as #krate::__private::MainOutput>::first_failure(results)
            }
        }
    };
    quote! {
        #(#attrs)*
        #vis #sig {
            #inner
            #run
        }
    }
}

fn test_body(args: &Args, f: ItemFn) -> TokenStream {
    let krate = &args.krate;
    let (inner, outer) = split(f);
    let attrs = &outer.attrs;
    let vis = &outer.vis;
    let sig = &outer.sig;
    let run = match args.timeout_ms {
        None => quote!(rt.block_on(__ringbolt_body())),
        Some(ms) => quote! {
            match rt.block_on(#krate::time::timeout(
                ::core::time::Duration::from_millis(#ms),
                __ringbolt_body(),
            )) {
                Ok(out) => out,
                Err(_) => ::core::panic!("test timed out after {} ms", #ms),
            }
        },
    };
    quote! {
        #[::core::prelude::v1::test]
        #(#attrs)*
        #vis #sig {
            #inner
            let rt = #krate::Runtime::new()
                .expect("#[ringbolt::test]: could not start a ringbolt runtime");
            #run
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(out: TokenStream) -> String {
        let s = out.to_string();
        assert!(s.contains("compile_error"), "expected an error, got: {s}");
        s
    }

    #[test]
    fn main_expands_to_block_on() {
        let out = main(
            quote!(),
            quote!(
                async fn main() {
                    run().await
                }
            ),
        );
        let s = out.to_string();
        assert!(s.contains(":: ringbolt :: Runtime :: new ()"), "{s}");
        assert!(s.contains("block_on (__ringbolt_body ())"), "{s}");
        assert!(!s.contains("async fn main"), "{s}");
        syn::parse2::<ItemFn>(out).expect("a plain fn");
    }

    #[test]
    fn main_with_cores_launches() {
        let s = main(
            quote!(cores = 3),
            quote!(
                async fn main() {}
            ),
        )
        .to_string();
        assert!(s.contains(". cores (3usize)"), "{s}");
        assert!(s.contains(". launch"), "{s}");
        let s = main(
            quote!(cores = "all"),
            quote!(
                async fn main() {}
            ),
        )
        .to_string();
        assert!(s.contains(". launch") && !s.contains(". cores"), "{s}");
    }

    #[test]
    fn crate_path_is_used() {
        let s = main(
            quote!(crate = "rb"),
            quote!(
                async fn main() {}
            ),
        )
        .to_string();
        assert!(
            s.contains("rb :: Runtime :: new") && !s.contains(":: ringbolt"),
            "{s}"
        );
    }

    #[test]
    fn bad_arguments_have_clear_errors() {
        let e = error_of(main(
            quote!(cores = "many"),
            quote!(
                async fn main() {}
            ),
        ));
        assert!(e.contains("`cores` takes a number of cores"), "{e}");
        let e = error_of(main(
            quote!(cores = 0),
            quote!(
                async fn main() {}
            ),
        ));
        assert!(e.contains("at least 1"), "{e}");
        let e = error_of(main(
            quote!(threads = 2),
            quote!(
                async fn main() {}
            ),
        ));
        assert!(e.contains("unknown argument `threads`"), "{e}");
        let e = error_of(main(
            quote!(cores = 2, cores = 3),
            quote!(
                async fn main() {}
            ),
        ));
        assert!(e.contains("given twice"), "{e}");
        let e = error_of(test(
            quote!(timeout = "soon"),
            quote!(
                async fn t() {}
            ),
        ));
        assert!(e.contains("\\\"5s\\\""), "{e}");
        let e = error_of(test(
            quote!(cores = 2),
            quote!(
                async fn t() {}
            ),
        ));
        assert!(e.contains("runs on one core"), "{e}");
    }

    #[test]
    fn bad_functions_have_clear_errors() {
        let e = error_of(main(
            quote!(),
            quote!(
                fn main() {}
            ),
        ));
        assert!(e.contains("needs an `async fn`"), "{e}");
        let e = error_of(test(
            quote!(),
            quote!(
                async fn t(x: u32) {}
            ),
        ));
        assert!(e.contains("take no arguments"), "{e}");
        let e = error_of(test(
            quote!(),
            quote!(
                struct S;
            ),
        ));
        assert!(e.contains("goes on an `async fn`"), "{e}");
    }

    #[test]
    fn test_keeps_attributes_and_applies_timeout() {
        let s = test(
            quote!(timeout_ms = 250),
            quote!(
                #[should_panic]
                async fn t() {}
            ),
        )
        .to_string();
        assert!(s.contains("# [should_panic]"), "{s}");
        assert!(s.contains(":: core :: prelude :: v1 :: test"), "{s}");
        assert!(s.contains("from_millis (250u64)"), "{s}");
        let s = test(
            quote!(timeout = "2s"),
            quote!(
                async fn t() {}
            ),
        )
        .to_string();
        assert!(s.contains("from_millis (2000u64)"), "{s}");
    }
}
