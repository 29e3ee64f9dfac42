#include <iostream>

#include "guardrails/cli/guardctl.hpp"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return guardrails::cli::run_guardctl(args, std::cout, std::cerr);
}
