#include "record_pdf.hpp"

#include <cstdio>

#include <hpdf.h>

#include <memory>
#include <string_view>
#include <vector>

#include "mes/domain/text.hpp"

namespace mes::api {
namespace {

using nlohmann::json;

void ignore_errors(HPDF_STATUS, HPDF_STATUS, void*) {}  // every call's status is checked instead

// UTF-8 to Latin-1 (WinAnsi for the standard fonts); what Latin-1 lacks becomes '?', dashes '-'.
std::string latin1(std::string_view in) {
  std::string out;
  for (std::size_t i = 0; i < in.size();) {
    const auto c = static_cast<unsigned char>(in[i]);
    if (c < 0x80) {
      out += (c < 0x20 && c != '\t') ? ' ' : static_cast<char>(c);
      ++i;
      continue;
    }
    std::size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
    if (i + len > in.size()) len = 1;
    unsigned cp = len == 2 ? (c & 0x1Fu) : len == 3 ? (c & 0x0Fu) : (c & 0x07u);
    for (std::size_t k = 1; k < len; ++k)
      cp = (cp << 6) | (static_cast<unsigned char>(in[i + k]) & 0x3Fu);
    if (len > 1 && cp >= 0xA0 && cp <= 0xFF) {
      out += static_cast<char>(cp);
    } else if (cp == 0x2013 || cp == 0x2014) {
      out += '-';
    } else if (cp == 0x2026) {
      out += "...";
    } else {
      out += '?';
    }
    i += len;
  }
  return out;
}

std::string cell(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return v.dump();
}

// Writes lines top to bottom, wrapping to the page width and starting new pages.
class Writer {
 public:
  explicit Writer(HPDF_Doc doc) : doc_(doc) {
    regular_ = HPDF_GetFont(doc_, "Helvetica", "WinAnsiEncoding");
    bold_ = HPDF_GetFont(doc_, "Helvetica-Bold", "WinAnsiEncoding");
    new_page();
  }
  bool ok() const { return regular_ != nullptr && bold_ != nullptr && page_ != nullptr; }

  void heading(std::string_view text, float size = 13) {
    y_ -= 6;
    line(text, bold_, size, 0);
  }
  void text(std::string_view text, float indent = 0, bool bold = false) {
    line(text, bold ? bold_ : regular_, 9.5f, indent);
  }
  void field(std::string_view name, std::string_view value) {
    text(std::string(name) + ": " + std::string(value));
  }

 private:
  void new_page() {
    page_ = HPDF_AddPage(doc_);
    if (page_ == nullptr) return;
    HPDF_Page_SetSize(page_, HPDF_PAGE_SIZE_A4, HPDF_PAGE_PORTRAIT);
    y_ = HPDF_Page_GetHeight(page_) - kMargin;
    ++pages_;
    // Page number in the footer.
    HPDF_Page_BeginText(page_);
    HPDF_Page_SetFontAndSize(page_, regular_, 8);
    const std::string footer = "page " + std::to_string(pages_);
    HPDF_Page_TextOut(page_, kMargin, kMargin / 2, footer.c_str());
    HPDF_Page_EndText(page_);
  }
  void line(std::string_view utf8, HPDF_Font font, float size, float indent) {
    if (page_ == nullptr) return;
    std::string rest = latin1(utf8);
    const float width = HPDF_Page_GetWidth(page_) - 2 * kMargin - indent;
    do {
      if (y_ - size < kMargin) new_page();
      if (page_ == nullptr) return;
      HPDF_Page_SetFontAndSize(page_, font, size);
      HPDF_REAL used = 0;
      HPDF_UINT fits = HPDF_Page_MeasureText(page_, rest.c_str(), width, HPDF_TRUE, &used);
      if (fits == 0) fits = HPDF_Page_MeasureText(page_, rest.c_str(), width, HPDF_FALSE, &used);
      if (fits == 0) fits = 1;
      const std::string part = rest.substr(0, fits);
      rest.erase(0, fits);
      while (!rest.empty() && rest.front() == ' ') rest.erase(0, 1);
      y_ -= size * 1.3f;
      HPDF_Page_BeginText(page_);
      HPDF_Page_TextOut(page_, kMargin + indent, y_, part.c_str());
      HPDF_Page_EndText(page_);
    } while (!rest.empty());
  }

  static constexpr float kMargin = 48;
  HPDF_Doc doc_;
  HPDF_Page page_ = nullptr;
  HPDF_Font regular_ = nullptr, bold_ = nullptr;
  float y_ = 0;
  int pages_ = 0;
};

}  // namespace

std::optional<std::string> record_pdf(const json& rec) {
  std::unique_ptr<std::remove_pointer_t<HPDF_Doc>, void (*)(HPDF_Doc)> doc(
      HPDF_New(ignore_errors, nullptr), [](HPDF_Doc d) { HPDF_Free(d); });
  if (!doc) return std::nullopt;
  const json& b = rec["batch"];
  const std::string id = b.value("id", "");
  HPDF_SetInfoAttr(doc.get(), HPDF_INFO_TITLE, latin1("Batch record " + id).c_str());
  HPDF_SetInfoAttr(doc.get(), HPDF_INFO_CREATOR, "pharma-mes");
  Writer w(doc.get());
  if (!w.ok()) return std::nullopt;

  w.heading("Batch record " + id, 16);
  w.field("Site", b["data"].value("site", std::string("Site 1")));
  w.field("Product", b["data"].value("product", ""));
  w.field("Master recipe", b["data"].value("master", "") + " (content hash " +
                               b["data"].value("master_hash", "") + ")");
  w.field("Size", cell(b["data"]["size"]) + " " + b["data"].value("size_unit", ""));
  w.field("State", b.value("state", ""));
  w.field("Yield", yield_line(rec.value("yield", nlohmann::json::object()),
                              b["data"].value("size_unit", "")));
  w.field("Disposition", b["flow"].value("disposition", std::string("-")));
  w.field("Generated by", rec.value("generated_by", ""));
  w.field("Generated at (UTC)", rec.value("generated_at", ""));

  w.heading("Steps");
  for (const auto& s : rec["steps"]) {
    const json& d = s["data"];
    w.text(s.value("id", "") + "  " + d.value("phase", "") + "  (" + s.value("state", "") + ")", 0,
           true);
    if (!d.value("started_by", "").empty()) {
      w.text("started by " + d.value("started_by", "") + " at " +
                 format_utc(d.value("started_at", Millis{0})) +
                 (d.value("equipment", "").empty() ? "" : " on " + d.value("equipment", "")),
             12);
    }
    const json parameters = d.value("parameters", json::object());
    for (const auto& [name, p] : parameters.items()) {
      const bool changed = p.value("changed", false);
      w.text((changed ? "[CHANGED AFTER FIRST ENTRY] " : "") + name + " = " + cell(p["value"]) +
                 " " + p.value("unit", "") + "  (limits " + cell(p["low"]) + " - " +
                 cell(p["high"]) + ")" + (p.value("in_limits", true) ? "" : "  OUT OF LIMITS") +
                 "  by " + p.value("by", "") + " at " + format_utc(p.value("at", Millis{0})),
             12);
    }
    for (const auto& x : d.value("weighings", json::array())) {
      w.text("weighing " + x.value("material", "") + " lot " + x.value("lot", "") + " on " +
                 x.value("scale", "") + ": gross " + cell(x["gross"]) + " tare " + cell(x["tare"]) +
                 " net " + cell(x["net"]) + " (tolerance " + cell(x["low"]) + " - " +
                 cell(x["high"]) + ")" +
                 (x.value("accepted", false) ? "" : "  REJECTED: out of tolerance") + "  by " +
                 x.value("by", "") + " at " + format_utc(x.value("at", Millis{0})),
             12);
    }
    const std::string verified = s["flow"].value("verified_by", "");
    if (!verified.empty()) w.text("verified by " + verified, 12);
  }

  w.heading("Deviations");
  if (rec["deviations"].empty()) w.text("none");
  for (const auto& d : rec["deviations"]) {
    w.text(d.value("id", "") + " (" + d.value("state", "") +
           "): " + d["data"].value("description", "") +
           "; disposition: " + d["flow"].value("disposition", ""));
  }
  w.heading("Alarms");
  if (rec["alarms"].empty()) w.text("none");
  for (const auto& a : rec["alarms"]) {
    w.text(a.value("id", "") + " " + a["data"].value("level", "") + " " + cell(a["data"]["value"]) +
           " " + a["data"].value("unit", "") + " (" + a.value("state", "") + ")");
  }
  w.heading("Electronic signatures");
  if (rec["signatures"].empty()) w.text("none");
  for (const auto& s : rec["signatures"]) {
    w.text(s.value("printed_name", "") + " (" + s.value("user_id", "") +
           ")  meaning: " + s.value("meaning", "") + "  at " + s.value("signed_at", "") +
           " UTC  on " + s.value("record_type", "") + " " + s.value("record_id", ""));
  }
  w.heading("Verification");
  w.field("Server public key (Ed25519)", rec["verification"].value("public_key", ""));
  w.field("Last audit entry hash", rec["verification"].value("last_entry_hash", ""));
  w.field("Latest signed checkpoint", rec["verification"].value("checkpoint", "none yet"));
  w.text(std::to_string(rec["audit_trail"].size()) +
         " audit entries belong to this record (export them as CSV).");

  if (HPDF_SaveToStream(doc.get()) != HPDF_OK) return std::nullopt;
  HPDF_ResetStream(doc.get());
  std::string out;
  std::vector<HPDF_BYTE> buffer(64 * 1024);
  while (true) {
    HPDF_UINT32 size = static_cast<HPDF_UINT32>(buffer.size());
    const HPDF_STATUS st = HPDF_ReadFromStream(doc.get(), buffer.data(), &size);
    out.append(reinterpret_cast<const char*>(buffer.data()), size);
    if (st == HPDF_STREAM_EOF) break;
    if (st != HPDF_OK) return std::nullopt;
  }
  return out;
}

std::string yield_line(const json& yield, const std::string& unit) {
  if (!yield.contains("output") || !yield["output"].is_number()) return "not recorded";
  const auto number = [](const json& v, bool one_decimal = false) {
    const double x = v.is_number() ? v.get<double>() : 0.0;
    char text[40];
    if (one_decimal) {
      std::snprintf(text, sizeof text, "%.1f", x);
    } else {
      std::snprintf(text, sizeof text, "%.6g", x);
    }
    return std::string(text);
  };
  std::string line = number(yield["output"]) + (unit.empty() ? "" : " " + unit);
  if (!yield.contains("theoretical") || !yield["theoretical"].is_number()) {
    return line + " (the master sets no theoretical yield)";
  }
  line += " of theoretical " + number(yield["theoretical"]) + " = " +
          number(yield.value("percent_of_theoretical", json(0.0)), true) + " %";
  if (yield.contains("limits_pct") && yield["limits_pct"].size() == 2) {
    line += " (limits " + number(yield["limits_pct"][0]) + "-" + number(yield["limits_pct"][1]) +
            " %" + (yield.value("within_limits", false) ? ")" : ": OUTSIDE)");
  }
  return line;
}

}  // namespace mes::api
