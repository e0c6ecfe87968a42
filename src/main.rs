//! The `vpce-audit` binary; everything is in the library.

fn main() -> std::process::ExitCode {
    vpce_audit::app::main()
}
