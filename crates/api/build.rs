//! Embeds Strava's official brand files when an operator has put them in
//! `assets/strava/` (they cannot be fetched at build time; see the README, "Strava's app
//! review"). The pages use each file that is there and fall back to the words otherwise.

use std::path::Path;

/// The files the pages know, as `(stem, what it shows)`; each may be an `.svg` or a `.png`.
const KNOWN: [&str; 2] = ["connect-with-strava", "powered-by-strava"];

fn main() {
    let dir = Path::new("assets/strava");
    println!("cargo:rerun-if-changed=assets/strava");
    let mut entries = String::new();
    for stem in KNOWN {
        for (ext, content_type) in [("svg", "image/svg+xml"), ("png", "image/png")] {
            let file = dir.join(format!("{stem}.{ext}"));
            if file.is_file() {
                let path = std::fs::canonicalize(&file).expect("a readable brand file");
                entries.push_str(&format!(
                    "    (\"{stem}.{ext}\", \"{content_type}\", include_bytes!({:?})),\n",
                    path.display().to_string()
                ));
                break;
            }
        }
    }
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let code = format!(
        "/// Installed brand files: `(name, content type, bytes)`.\npub const BRAND_FILES: &[(&str, &str, &[u8])] = &[\n{entries}];\n"
    );
    std::fs::write(out.join("brand.rs"), code).expect("brand.rs written");
}
