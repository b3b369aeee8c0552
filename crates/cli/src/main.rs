use std::process::ExitCode;

fn main() -> ExitCode {
    custodian::cli::main()
}
