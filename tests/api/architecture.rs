//! The direction of the imports (STYLE.md): `domain/` is pure, `graphql/` never touches
//! axum, `http/` never touches the database.
use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn assert_no_imports(module: &str, forbidden: &[&str]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src")
        .join(module);
    let mut files = Vec::new();
    rust_files(&dir, &mut files);
    assert!(!files.is_empty(), "{module} has no files");
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read");
        for line in text.lines() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            for f in forbidden {
                assert!(
                    !code.contains(&format!("{f}::")),
                    "{} uses {f}: {line}",
                    file.display()
                );
            }
        }
    }
}

#[test]
fn domain_imports_no_database_graphql_http_async_or_mail_crate() {
    assert_no_imports(
        "domain",
        &[
            "sea_orm",
            "async_graphql",
            "axum",
            "tokio",
            "lettre",
            "entity",
            "crate::store",
            "crate::service",
        ],
    );
}

#[test]
fn graphql_never_touches_axum() {
    assert_no_imports("graphql", &["axum", "crate::http"]);
}

#[test]
fn http_never_touches_the_database() {
    assert_no_imports("http", &["sea_orm", "entity", "crate::store", "crate::db"]);
}

#[test]
fn store_and_service_never_touch_graphql_or_http() {
    assert_no_imports(
        "store",
        &["async_graphql", "axum", "crate::graphql", "crate::http"],
    );
    assert_no_imports("service", &["axum", "crate::graphql", "crate::http"]);
}
