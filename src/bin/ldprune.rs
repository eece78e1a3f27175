fn main() {
    std::process::exit(ldprune::cli::main());
}
