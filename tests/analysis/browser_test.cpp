// cir-report --html rendered by a real browser: Debian's headless Chromium
// takes a laptop and a phone screenshot (saved under CIR_TEST_OUTPUT for a
// person to look at) and dumps the DOM it built, which must hold every
// table cell, every figure as SVG, the status and the receipt, and nothing
// that reaches outside the file. Exits 77 (ctest: skipped) where Chromium
// or gnuplot is missing or Chromium cannot start.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <regex>

#include "analysis/figures.hpp"
#include "tests/analysis/sweeps.hpp"
#include "tests/shell.hpp"

namespace cir::analysis::testing {
namespace {

using cir::testing::shell;
using cir::testing::Shell;

std::string skip_reason;

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

class Browser : public AnalysisTest {
 protected:
  // chromium with the flags of a sandbox-less CI machine and its own profile.
  std::string chromium(const std::string& args) {
    return fmt::format(
        "timeout 120 {} --headless --no-sandbox --disable-gpu --disable-background-networking "
        "--disable-component-update --disable-sync --no-first-run --hide-scrollbars --user-data-dir={} {} "
        "2>/dev/null",
        browser_, (dir_ / "profile").string(), args);
  }
  std::string browser_ = find_program("chromium");
};

TEST_F(Browser, RendersTheReportPage) {
  if (browser_.empty()) {
    skip_reason = "chromium is not installed (scripts/install-deps.sh installs it)";
    return;
  }
  if (find_program("gnuplot").empty()) {
    skip_reason = "gnuplot is not installed (scripts/install-deps.sh installs it)";
    return;
  }
  const fs::path store =
      write_store(dir_, "gamma0", gamma0_sweep(), {R"({"cir_commit":"abc123","mpi":"Open MPI v4.1.4"})"});
  const fs::path page = dir_ / "report.html";
  ASSERT_EQ(
      shell(std::string(CIR_REPORT) + " " + store.string() + " --html " + page.string() + " 2>/dev/null")
          .code,
      0);
  const std::string html = read_text(page);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find(" src="), std::string::npos);
  EXPECT_FALSE(std::regex_search(html, std::regex(R"(href="(https?:)?//)"))) << "a link leaves the file";

  const fs::path out = CIR_TEST_OUTPUT;
  fs::create_directories(out);
  const Shell laptop =
      shell(chromium("--window-size=1280,2200 --screenshot=" + (out / "report-laptop.png").string() +
                     " file://" + page.string()));
  if (laptop.code != 0 || !fs::exists(out / "report-laptop.png")) {
    skip_reason = fmt::format("chromium could not start (exit {})", laptop.code);
    return;
  }
  ASSERT_EQ(shell(chromium("--window-size=390,2400 --screenshot=" + (out / "report-phone.png").string() +
                           " file://" + page.string()))
                .code,
            0);
  EXPECT_GT(fs::file_size(out / "report-laptop.png"), 20000u);
  EXPECT_GT(fs::file_size(out / "report-phone.png"), 10000u);

  const Shell dom = shell(chromium("--dump-dom file://" + page.string()));
  ASSERT_EQ(dom.code, 0);
  // Table 5: 9 rows × R@10, R@50, Avg, each with its verdict attribute.
  EXPECT_EQ(count(dom.out, "<td class=\"num\" data-verdict="), 27u) << dom.out.substr(0, 2000);
  EXPECT_EQ(count(dom.out, "<td class=\"num\" data-verdict=\"reproduced\""), 8u);
  EXPECT_EQ(count(dom.out, "<td class=\"num\" data-verdict=\"below\""), 1u);
  EXPECT_EQ(count(dom.out, "data-versus=\"higher\" title="), 1u);
  EXPECT_NE(dom.out.find("<strong>54.25</strong> ± 1.00‡"), std::string::npos);
  // The figures: loss, recall and R@K against γ0, each an inline SVG.
  EXPECT_EQ(count(dom.out, "<figure"), 3u);
  EXPECT_EQ(std::regex_search(dom.out, std::regex("<figure[^>]*>\\s*<svg")), true);
  EXPECT_NE(dom.out.find("Trials: 12 · done 10"), std::string::npos);
  EXPECT_NE(dom.out.find("<dd>abc123</dd>"), std::string::npos);
  std::fprintf(stderr, "screenshots: %s/report-laptop.png, report-phone.png\n", out.c_str());
}

}  // namespace
}  // namespace cir::analysis::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const int code = RUN_ALL_TESTS();
  if (code == 0 && !cir::analysis::testing::skip_reason.empty()) {
    std::fprintf(stderr, "skipped: %s\n", cir::analysis::testing::skip_reason.c_str());
    return 77;
  }
  return code;
}
