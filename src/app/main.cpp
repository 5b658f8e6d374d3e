#include "src/app/cli.hpp"

int main(int argc, char** argv) { return reelbatch::run_cli(argc, argv); }
