// The trial contract's keys: every sweep-spec key as a typed constant with its
// type, default, range or choices and meaning (sweeps/README.md documents
// them in the same order). The launcher checks a spec against them; model/,
// datasets/ and workers/ read a trial's values through them
// (Params::get(keys::loss::gamma0)), so a key is spelt in this file only.
//
// Adding a key is one line in CIR_KEYS below plus its read where it is used:
// the launcher's checks, the trial defaults and the reads' checks all come
// from this list (docs/adding-a-key.md).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace cir::keys {

enum class Type { boolean, integer, number, string, integer_list };

// The values a number, an integer or each element of an integer list may
// take. Unset bounds are open.
struct Range {
  std::optional<double> min{};
  std::optional<double> max{};
  bool min_exclusive = false;  // > min instead of ≥ min
  bool allow_inf = false;      // +inf is a valid number (loss.gamma0: the baseline)
};

inline constexpr Range any{};
// The largest seed a key takes: seeds reach 32-bit generators unchanged.
inline constexpr double kMaxSeed = 2147483647;
constexpr Range at_least(double min) { return Range{.min = min}; }
constexpr Range above(double min) { return Range{.min = min, .min_exclusive = true}; }
constexpr Range between(double min, double max) { return Range{.min = min, .max = max}; }

// A short constant list (a string key's choices, an integer list's default).
template <typename T>
struct SmallList {
  std::array<T, 6> items{};
  std::size_t size = 0;

  constexpr SmallList() = default;
  constexpr SmallList(std::initializer_list<T> values) {
    for (const T& v : values) items[size++] = v;
  }
  constexpr std::span<const T> view() const { return {items.data(), size}; }
};

// What every key has; the typed keys below say which reads it takes.
struct Key {
  const char* name;  // dotted: "loss.gamma0"
  Type type;
  const char* doc;  // the meaning, as sweeps/README.md gives it
  Range range{};
  SmallList<const char*> choices{};  // a string key's allowed values; empty = any
  bool required = false;             // no default: the spec must set it
  // The default, in the member of the key's type. A string key with
  // string_default == nullptr has none (required, or optional without a value).
  bool boolean_default = false;
  std::int64_t integer_default = 0;
  double number_default = 0.0;
  const char* string_default = nullptr;
  SmallList<std::int64_t> integers_default{};
  std::size_t min_items = 0;  // an integer list's least length
  // A key added after stores existed: at its default it is left out of the
  // trial id (launcher/expand.cpp), so the ids of trials already in a store
  // stay the same.
  bool added_later = false;

  // Whether a trial's parameters carry the key (the [sweep] keys they do not).
  constexpr bool training() const { return std::string_view(name).substr(0, 6) != "sweep."; }
};

struct BooleanKey : Key {};
struct IntegerKey : Key {};
struct NumberKey : Key {};
struct StringKey : Key {};
struct IntegerListKey : Key {};

consteval BooleanKey boolean(const char* name, bool fallback, const char* doc) {
  return {Key{.name = name, .type = Type::boolean, .doc = doc, .boolean_default = fallback}};
}
consteval IntegerKey integer(const char* name, std::int64_t fallback, Range range, const char* doc) {
  return {Key{.name = name, .type = Type::integer, .doc = doc, .range = range, .integer_default = fallback}};
}
consteval NumberKey number(const char* name, double fallback, Range range, const char* doc) {
  return {Key{.name = name, .type = Type::number, .doc = doc, .range = range, .number_default = fallback}};
}
// `fallback` nullptr: no default.
consteval StringKey string(const char* name, const char* fallback, SmallList<const char*> choices,
                           const char* doc) {
  return {
      Key{.name = name, .type = Type::string, .doc = doc, .choices = choices, .string_default = fallback}};
}
consteval StringKey required_string(const char* name, const char* doc) {
  return {Key{.name = name, .type = Type::string, .doc = doc, .required = true}};
}
consteval IntegerListKey integers(const char* name, SmallList<std::int64_t> fallback, Range range,
                                  const char* doc, std::size_t min_items = 0) {
  return {Key{.name = name,
              .type = Type::integer_list,
              .doc = doc,
              .range = range,
              .integers_default = fallback,
              .min_items = min_items}};
}
// The same key marked as added after stores existed (Key::added_later).
template <typename TypedKey>
consteval TypedKey added_later(TypedKey key) {
  key.added_later = true;
  return key;
}

// Every key, [sweep] first, in the order of sweeps/README.md:
// KEY(namespace, constant, definition) defines keys::namespace::constant.
// clang-format off
#define CIR_KEYS(KEY)                                                                                          \
  /* [sweep] */                                                                                                \
  KEY(sweep, name, required_string("sweep.name", "store name: results/<name>.h5"))                             \
  KEY(sweep, extends, string("sweep.extends", nullptr, {}, "preset path relative to this file (chains allowed)")) \
  KEY(sweep, description, string("sweep.description", "", {}, "free text"))                                    \
  KEY(sweep, seeds, integers("sweep.seeds", {0}, between(0, kMaxSeed), "replicates of every grid point", 1))               \
  KEY(sweep, ranks_per_trial, integer("sweep.ranks_per_trial", 1, between(1, 4096), "ranks of one data-parallel group")) \
  KEY(sweep, store, string("sweep.store", "", {}, "store path (\"\" = results/<name>.h5)"))                      \
  KEY(sweep, max_requeues, integer("sweep.max_requeues", 3, between(0, 1000),                                       \
      "Slurm: timeouts after which a sweep stops requeueing"))                                                 \
  KEY(sweep, max_retries, integer("sweep.max_retries", 0, between(0, 100),                                     \
      "times a failed or diverged trial is run again (every attempt's rows kept)"))                            \
  KEY(sweep, stall_warning, number("sweep.stall_warning", 60, between(1, 86400),                               \
      "seconds a group's ranks may miss a collective before the log names the missing ranks"))                 \
  KEY(sweep, stall_timeout, number("sweep.stall_timeout", 600, between(0, 604800),                             \
      "seconds after which a stalled trial fails (0 = never)"))                                                \
  /* [data] */                                                                                                 \
  KEY(data, dataset, string("data.dataset", "synthetic", {"synthetic", "fashioniq", "shoes", "fashion200k"},   \
      "which reader"))                                                                                         \
  KEY(data, root, string("data.root", "", {}, "dataset folder (${ENV} allowed)"))                              \
  KEY(data, layout, string("data.layout", "official", {"official", "derived"},                                 \
      "release layout or the authors' derived text files"))                                                    \
  KEY(data, image_size, integer("data.image_size", 224, between(8, 2048), "network input side (px)"))               \
  KEY(data, workers, integer("data.workers", 2, between(0, 256),                                                   \
      "loader threads per rank (0 = load on the training thread)"))                                            \
  KEY(data, prefetch, integer("data.prefetch", 4, between(1, 1024), "batches decoded ahead"))                       \
  KEY(data, missing_images, string("data.missing_images", "error", {"error", "skip"},                          \
      "images a download lacks: stop with the list, or drop what needs them (counts recorded)"))               \
  KEY(data, invalid_text, added_later(string("data.invalid_text", "error", {"error", "replace"},                \
      "captions that are not UTF-8: stop naming file, line and byte, or replace bad bytes with U+FFFD")))      \
  KEY(data::fashioniq, protocol, string("data.fashioniq.protocol", "val", {"val", "split"},                    \
      "gallery: reference VAL protocol or the whole val image split"))                                         \
  KEY(data::fashioniq, queries_per_triplet, integer("data.fashioniq.queries_per_triplet", 2, between(1, 2),    \
      "derived layout: one query per triplet or one per caption order"))                                       \
  KEY(data::fashion200k, pairs_seed, integer("data.fashion200k.pairs_seed", 0, between(0, kMaxSeed),                    \
      "seed of the one-word-difference training pairs"))                                                       \
  KEY(data::synthetic, seed, integer("data.synthetic.seed", 0, between(0, kMaxSeed), "generator seed"))                 \
  KEY(data::synthetic, attribute_sets, integer("data.synthetic.attribute_sets", 64, between(1, 100000),               \
      "described attribute combinations"))                                                                     \
  KEY(data::synthetic, twins, integer("data.synthetic.twins", 4, between(0, 1000),                                  \
      "undescribed look-alikes per attribute set"))                                                            \
  KEY(data::synthetic, train_queries, integer("data.synthetic.train_queries", 768, between(1, 10000000), "training triplets")) \
  KEY(data::synthetic, test_queries, integer("data.synthetic.test_queries", 256, between(1, 1000000), "evaluation queries")) \
  KEY(data::synthetic, coarse_fraction, number("data.synthetic.coarse_fraction", 0.5, between(0, 1),           \
      "share of coarse (one-to-many) texts"))                                                                  \
  /* [model] */                                                                                                \
  KEY(model::image, arch, string("model.image.arch", "resnet50", {"resnet18", "resnet50"}, "image encoder"))   \
  KEY(model::image, width, integer("model.image.width", 64, between(1, 1024),                                       \
      "stem width (64 = torchvision; 16 = width/4 preset)"))                                                   \
  KEY(model::image, layer4_stride1, boolean("model.image.layer4_stride1", true, "layer4's first block at stride 1")) \
  KEY(model::image, weights, string("model.image.weights", "", {},                                             \
      "torchvision-named safetensors file (\"\" = random init)"))                                              \
  KEY(model, norm_scale, number("model.norm_scale", 4.0, above(0), "feature scale after L2 normalisation"))    \
  KEY(model, feature_dim, integer("model.feature_dim", 512, between(1, 65536), "joint feature width"))               \
  KEY(model::compositor, heads, integer("model.compositor.heads", 8, between(1, 1024), "attention heads"))          \
  KEY(model::text, encoder, string("model.text.encoder", "roberta", {"roberta", "lstm"}, "text encoder"))      \
  KEY(model::text, weights, string("model.text.weights", "", {},                                               \
      "RoBERTa folder: model.safetensors, vocab.json, merges.txt"))                                            \
  KEY(model::text, max_length, integer("model.text.max_length", 64, between(1, 512), "tokens per caption (cut)"))  \
  KEY(model::text, dropout, number("model.text.dropout", 0.0, between(0, 1), \
      "dropout after the text Linear (Table 3)"))                                                              \
  KEY(model::lstm, embed, integer("model.lstm.embed", 512, between(1, 65536), "LSTM word embedding width"))          \
  KEY(model::lstm, hidden, integer("model.lstm.hidden", 512, between(1, 65536), "LSTM hidden width"))                \
  KEY(model::lstm, min_count, integer("model.lstm.min_count", 1, between(1, 1000000000), "words seen fewer times map to <unk>")) \
  /* [loss] */                                                                                                 \
  KEY(loss, gamma0, number("loss.gamma0", 1.0, (Range{.min = 0, .allow_inf = true}),                           \
      "gamma = exp(-gamma0*epoch/epochs); inf = baseline"))                                                    \
  KEY(loss, w1, number("loss.w1", 1.0, at_least(0), "augmenter scale of alpha"))                               \
  KEY(loss, w2, number("loss.w2", 1.0, at_least(0), "augmenter scale of beta"))                                \
  KEY(loss, augmenter, string("loss.augmenter", "reference", {"paper", "reference"}, "augmenter form (docs/paper-notes.md)")) \
  KEY(loss, uncertainty, string("loss.uncertainty", "reference", {"paper", "reference"}, "L_u form"))          \
  /* [train] */                                                                                                \
  KEY(train, epochs, integer("train.epochs", 60, between(1, 100000), "epochs"))                                       \
  KEY(train, batch, integer("train.batch", 32, between(1, 1048576), "global batch (divisible by ranks_per_trial)"))    \
  KEY(train, lr, number("train.lr", 0.04, above(0), "base learning rate"))                                     \
  KEY(train, momentum, number("train.momentum", 0.9, between(0, 1), "SGD momentum"))                           \
  KEY(train, weight_decay, number("train.weight_decay", 5e-5, at_least(0), "SGD weight decay"))                \
  KEY(train, schedule, string("train.schedule", "reference", {"paper", "reference"},                           \
      "step at lr_steps, or warm-up then steps"))                                                              \
  KEY(train, lr_steps, integers("train.lr_steps", {35, 42}, between(0, 100000), "epochs at which lr x0.1"))           \
  KEY(train, warmup_epochs, integer("train.warmup_epochs", 5, between(0, 100000), "reference warm-up length"))        \
  KEY(train, warmup_factor, number("train.warmup_factor", 0.01, (Range{.min = 0, .max = 1, .min_exclusive = true}), \
      "warm-up starts at this x lr"))                                                                          \
  KEY(train, text_lr_factor, number("train.text_lr_factor", 0.01, at_least(0), "RoBERTa parameters' lr factor")) \
  KEY(train, clip_grad, number("train.clip_grad", 0.0, at_least(0), "gradient-norm clip (0 = off)"))           \
  KEY(train, device, string("train.device", "cpu", {"cpu", "cuda"}, "one GPU per local rank with cuda"))       \
  KEY(train, precision, added_later(string("train.precision", "fp32", {"fp32", "tf32", "bf16"},                \
      "bf16 = autocast with fp32 master weights and fp32 loss statistics")))                                   \
  KEY(train, threads, integer("train.threads", 0, between(0, 4096),                                                 \
      "intra-op threads per rank (0 = cores / local ranks)"))                                                  \
  KEY(train, checkpoint_keep, integer("train.checkpoint_keep", 2, between(1, 1000), "checkpoints kept per trial"))  \
  /* [eval] */                                                                                                 \
  KEY(eval, every, integer("eval.every", 1, between(1, 100000), "evaluate every N epochs (and at the last)"))         \
  KEY(eval, ks, integers("eval.ks", {1, 10, 50}, between(1, 100000), "Recall@K reported", 1))                            \
  KEY(eval, batch, integer("eval.batch", 64, between(1, 1048576), "feature batch"))
// clang-format on

#define CIR_KEY_CONSTANT(space, constant, definition) \
  namespace space {                                   \
  inline constexpr auto constant = definition;        \
  }
CIR_KEYS(CIR_KEY_CONSTANT)
#undef CIR_KEY_CONSTANT

// Every key, in CIR_KEYS order.
std::span<const Key* const> all();

// The key named `name`, or nullptr.
const Key* find(std::string_view name);

// What a key accepts, for messages: "an integer ≥ 1", "one of "cpu", "cuda"", ….
std::string describe(const Key& key);

// Checks `value` (JSON; +inf as the string "inf") against the key's type and
// range. Returns it normalised to the key's type (an integer for a number key
// becomes a float), or throws cir::Error "expected …, found …" (the caller
// adds where).
nlohmann::json check(const Key& key, const nlohmann::json& value);

// The key's default as JSON; null when it has none.
nlohmann::json default_value(const Key& key);

}  // namespace cir::keys
