#include "mes/store/migrations.hpp"

#include <algorithm>
#include <cctype>
#include <regex>

namespace mes::store {
namespace {

// Upper-case, comments removed, whitespace collapsed: one string per statement.
std::vector<std::string> statements(std::string_view sql) {
  std::string text;
  for (std::size_t i = 0; i < sql.size(); ++i) {
    if (sql.substr(i, 2) == "--") {
      while (i < sql.size() && sql[i] != '\n') ++i;
      continue;
    }
    if (sql.substr(i, 2) == "/*") {
      const auto end = sql.find("*/", i + 2);
      i = end == std::string_view::npos ? sql.size() : end + 1;
      continue;
    }
    const char c = sql[i];
    const char up = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (!text.empty() && text.back() != ' ') text += ' ';
    } else {
      text += up;
    }
  }
  std::vector<std::string> out;
  std::string current;
  for (const char c : text) {
    if (c == ';') {
      if (!current.empty() && current != " ") out.push_back(current);
      current.clear();
    } else {
      current += c;
    }
  }
  if (!current.empty() && current != " ") out.push_back(current);
  for (auto& s : out) {
    while (!s.empty() && s.front() == ' ') s.erase(s.begin());
    while (!s.empty() && s.back() == ' ') s.pop_back();
  }
  return out;
}

}  // namespace

std::vector<std::string> expand_only_problems(std::string_view sql) {
  struct Rule {
    std::regex pattern;
    const char* what;
  };
  static const std::vector<Rule> rules = {
      {std::regex(R"(\bDROP (TABLE|VIEW|COLUMN)\b)"), "drops what the previous version uses"},
      {std::regex(R"(\bALTER TABLE .* DROP\b)"), "drops a column or constraint"},
      {std::regex(R"(\bDROP (TRIGGER|FUNCTION|RULE|POLICY)\b)"),
       "drops a protection (trigger, function, rule or policy)"},
      {std::regex(R"(\bRENAME\b)"), "renames what the previous version uses"},
      {std::regex(R"(\bSET NOT NULL\b)"), "tightens a column (SET NOT NULL)"},
      {std::regex(R"(\b(SET DATA TYPE|ALTER COLUMN \S+ TYPE)\b)"), "changes a column's type"},
      {std::regex(R"(\bADD CONSTRAINT\b)"), "adds a constraint to an existing table"},
      {std::regex(R"(\bADD (COLUMN )?\S+ [^,]*NOT NULL(?![^,]*DEFAULT))"),
       "adds a NOT NULL column without a default (the previous version's inserts fail)"},
      {std::regex(R"(^(DELETE|TRUNCATE)\b)"), "deletes rows"},
  };
  std::vector<std::string> out;
  for (const auto& statement : statements(sql)) {
    for (const auto& rule : rules) {
      if (std::regex_search(statement, rule.pattern)) {
        out.push_back(std::string(rule.what) + ": " + statement.substr(0, 120));
        break;
      }
    }
  }
  return out;
}

std::string schema_compatibility_problem(std::int64_t database_version, std::int64_t readable_from,
                                         std::int64_t build_version) {
  if (database_version <= build_version || readable_from <= build_version) return {};
  return "the database has schema version " + std::to_string(database_version) +
         ", which builds of schema version " + std::to_string(readable_from) +
         " or later can use; this build's is " + std::to_string(build_version) +
         " (a release after a contracting migration cannot be rolled back past it)";
}

}  // namespace mes::store
