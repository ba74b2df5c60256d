#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "analysis/paper.hpp"
#include "common/error.hpp"
#include "tests/analysis/fixture.hpp"

namespace cir::analysis::testing {
namespace {

TEST(PaperTables, TheBuiltInCopyHasTables1To5) {
  const PaperTables paper = PaperTables::builtin();
  for (const char* name : {"table1", "table2_shoes", "table2_fashion200k", "table3", "table4", "table5"}) {
    EXPECT_NE(paper.find(name), nullptr) << name;
  }
  const PaperTable& t5 = *paper.find("table5");
  EXPECT_EQ(t5.columns, (std::vector<std::string>{"r10", "r50", "average"}));
  const PaperRow* baseline = t5.find({{"loss.gamma0", INFINITY}});
  ASSERT_NE(baseline, nullptr);
  EXPECT_EQ(baseline->values, (std::vector<double>{49.48, 76.46, 62.97}));
  const PaperTable& t4 = *paper.find("table4");
  EXPECT_EQ(t4.rows.size(), 18u);
  EXPECT_EQ(t4.find({{"loss.w1", 0.1}, {"loss.w2", 1.0}})->values.front(), 48.42);
  EXPECT_EQ(t4.find({{"loss.w1", 1.0}, {"loss.w2", 10.0}})->values.front(), 47.02);
  const PaperTable& t1 = *paper.find("table1");
  EXPECT_EQ(t1.title, "Results on FashionIQ");
  EXPECT_EQ(t1.rows.size(), 11u);  // baseline, ours, 9 other methods
  EXPECT_EQ(paper.find("table3")->find({{"loss.gamma0", INFINITY}, {"model.text.dropout", 0.2}})->label,
            "L_info + dropout 0.2");
}

TEST(PaperTables, TheBuiltInCopyIsTheRepositoryFile) {
  const std::string text = read_text(fs::path(CIR_GOLDEN_DIR) / "../../../analysis/paper_tables.toml");
  const PaperTables file = PaperTables::parse(text, "analysis/paper_tables.toml");
  const PaperTables built = PaperTables::builtin();
  ASSERT_EQ(file.tables().size(), built.tables().size());
  for (std::size_t i = 0; i < file.tables().size(); ++i) {
    EXPECT_EQ(file.tables()[i].rows.size(), built.tables()[i].rows.size());
  }
}

TEST(PaperTables, SyntaxErrorsNameTheFileAndLine) {
  try {
    PaperTables::parse("[table1]\ncolumns = [\"r10\"\n", "mine.toml");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.where().file, "mine.toml");
    EXPECT_GE(e.where().line, 2);
  }
}

TEST(PaperTables, WrongShapesNameTheKey) {
  std::string text = read_text(fs::path(CIR_GOLDEN_DIR) / "../../../analysis/paper_tables.toml");
  const std::string from = "values = [[50.80, 78.64, 64.72],";
  text.replace(text.find(from), from.size(), "values = [[50.80, 78.64],");
  try {
    PaperTables::parse(text, "mine.toml");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.where().key, "table5.values");
    EXPECT_NE(std::string(e.what()).find("expected 3 values (one per column), found 2"), std::string::npos);
    EXPECT_GT(e.where().line, 0);
  }
  EXPECT_THROW(PaperTables::from_file("/nonexistent/paper.toml"), Error);
}

}  // namespace
}  // namespace cir::analysis::testing
