#!/usr/bin/env bash
# Every document a file of the repository cites is in the repository:
#  1. no file cites the design notes that once lived outside it (their
#     content is docs/ now);
#  2. every docs/<name>.md named anywhere exists, and a section cited as
#     docs/<name>.md "Section" is a heading of that file (the quoted name on
#     the same line as the path);
#  3. every other <name>.md named anywhere is a file of the repository (a
#     path from its root, or a file name that some path ends with);
#  4. every path of the repository that a docs/ page names in backticks
#     (`workers/trainer.cpp`, `sweeps/base/`) exists, so a renamed file
#     takes its mentions along.
# Usage: check_citations.sh SOURCE_DIR. Reads the files git tracks, or every
# file outside build/ and .git/ when SOURCE_DIR is not a git checkout.
set -uo pipefail
cd "$1" || exit 2

if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files)
else
  mapfile -t files < <(find . -path ./build -prune -o -path ./.git -prune -o -type f -print | sed 's|^\./||')
fi
declare -A known=()
for f in "${files[@]}"; do known["$f"]=1; done

failures=0
fail() {
  echo "$1"
  failures=$((failures + 1))
}

# 1. The old design notes, spelled so that this file does not match itself.
outside='(DESIGN|REFERENCE)[.]md'
while IFS= read -r hit; do
  fail "${hit%:*}: cites ${hit##*:}, a design note that is not in the repository; cite the docs/ file that holds it"
done < <(grep -IonHE "\\b$outside" -- "${files[@]}" 2>/dev/null)

# 2. docs/<name>.md, with or without a section.
while IFS= read -r hit; do
  place="${hit%%:docs/*}"
  cited="${hit#"$place:"}"
  doc="${cited%%.md*}.md"
  if [ -z "${known[$doc]:-}" ]; then
    fail "$place: cites $doc, which does not exist"
    continue
  fi
  rest="${cited#"$doc"}"
  case "$rest" in
    ' "'*'"')
      section="${rest#' "'}"
      section="${section%'"'}"
      sed -n 's/^#\+ //p' "$doc" | grep -qxF -- "$section" ||
        fail "$place: cites section \"$section\" of $doc, which has no such heading"
      ;;
    ' "'*) fail "$place: the section cited after $doc must close its quote on the same line" ;;
  esac
done < <(grep -IonHE 'docs/[A-Za-z0-9_-]+[.]md( "[^"]*"?)?' -- "${files[@]}" 2>/dev/null)

# 3. Any other <name>.md.
declare -A checked=()
while IFS= read -r hit; do
  place="${hit%:*}"
  name="${hit##*:}"
  name="${name#./}"
  name="${name#/}"
  case "$name" in docs/* | //*) continue ;; esac
  [[ "$name" =~ (^|/)$outside$ ]] && continue
  if [ -z "${checked[$name]:-}" ]; then
    checked["$name"]=missing
    if [ -n "${known[$name]:-}" ]; then
      checked["$name"]=found
    else
      for f in "${files[@]}"; do
        if [[ "$f" == */"$name" ]]; then
          checked["$name"]=found
          break
        fi
      done
    fi
  fi
  [ "${checked[$name]}" = found ] || fail "$place: names $name, which is not a file of the repository"
done < <(grep -IonHE '[A-Za-z0-9_./-]*[A-Za-z0-9_-][.]md\b' -- "${files[@]}" 2>/dev/null)

# 4. Paths in docs/ pages: backticked, starting with a top-level folder, no
# placeholders (<sweep>, *).
top='(analysis|bench|cmake|common|datasets|docs|launcher|model|results|scripts|slurm|store|sweeps|tests|workers)/'
while IFS= read -r hit; do
  place="${hit%%:\`*}"
  path="${hit#"$place:"}"
  path="${path//\`/}"
  path="${path%% *}"
  [[ "$path" =~ ^$top && ! "$path" =~ [\<\*] ]] || continue
  [ -e "$path" ] || fail "$place: names $path, which does not exist"
done < <(grep -IonE '`[^`]+`' -- /dev/null $(printf '%s\n' "${files[@]}" | grep -E '^docs/.*[.]md$') 2>/dev/null)

if [ "$failures" -gt 0 ]; then
  echo "$failures citation(s) point outside the repository or at nothing"
  exit 1
fi
echo "every cited document is in the repository (${#files[@]} files read)"
