//! Outputs: the comparison table on stdout, `results.json`, `results.csv` and `chart.svg`.

use std::path::Path;

use crate::results::Report;

pub mod csv;
pub mod json;
pub mod svg;
pub mod table;

/// Prints the tables and writes the files; returns the exit code (non-zero when a file could
/// not be written or no contender produced any result).
pub fn emit(report: &Report, out_dir: &Path) -> i32 {
    print!("{}", table::render(report));
    let mut code = 0;
    let writes: [(&str, Result<String, String>); 3] = [
        ("results.json", json::to_string(report)),
        ("results.csv", Ok(csv::render(report))),
        ("chart.svg", svg::render(report)),
    ];
    for (name, content) in writes {
        let path = out_dir.join(name);
        match content.and_then(|c| std::fs::write(&path, c).map_err(|e| e.to_string())) {
            Ok(()) => println!("wrote {}", path.display()),
            Err(e) => {
                eprintln!("versus: {}: {e}", path.display());
                code = 1;
            }
        }
    }
    let any = report.echo.iter().any(|c| c.krps.is_some())
        || report.file.iter().any(|c| c.kiops.is_some());
    if !any {
        eprintln!("versus: no contender produced a result");
        code = 1;
    }
    code
}
