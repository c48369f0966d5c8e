//! The `xinfang` binary: see `xinfang --help`.

fn main() -> std::process::ExitCode {
    xinfang_api::cli::main()
}
