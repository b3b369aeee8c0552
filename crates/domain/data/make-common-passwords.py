#!/usr/bin/env python3
"""Regenerates common-passwords.txt beside this script.

Sources:
  1. the "passwords" frequency list of the zxcvbn crate (the version in Cargo.lock), read from
     its src/frequency_lists.rs in the cargo registry (no network needed after `cargo fetch`);
  2. the curated common Chinese passwords below (CSDN / Tianya / 17173 leak style: digit
     patterns, pinyin words and names with the number suffixes people add).

Every entry is NFKC-normalized and lowercased (as the policy compares), entries shorter than
4 characters are dropped (they never pass the length rule), and the result is deduplicated and
sorted by code point (= byte order of UTF-8, as Rust sorts &str).

Usage: python3 make-common-passwords.py [path/to/zxcvbn/src/frequency_lists.rs]
"""

import glob
import os
import re
import sys
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
ZXCVBN_VERSION = "3.1.1"

# Digit and keyboard patterns that top the Chinese leaks (CSDN 2011, Tianya, 17173, 7k7k).
CHINESE_FIXED = """
123456789 12345678 11111111 00000000 123123123 1234567890 88888888 111111111 147258369
987654321 aaaaaaaa 1111111111 66666666 a123456789 11223344 1qaz2wsx 789456123 87654321
qqqqqqqq 000000000 qwertyuiop qq123456 iloveyou 31415926 12344321 0000000000 asdfghjkl
1q2w3e4r 123456abc 0123456789 123654789 12121212 qazwsxedc abcd1234 12341234 110110110
asdasdasd 22222222 123321123 abc123456 a12345678 123456123 a1234567 1234qwer qwertyui
123456789a aa123456 asdfasdf 99999999 520520520 963852741 55555555 741852963 33333333
qwer1234 asd123456 77777777 11112222 123456aa zxcvbnm123 5201314520 1314520520 12345678a
44444444 qweqweqwe 123qweasd 1234abcd 12qwaszx 159357159 147852369 321654987 852963741
5201314 1314520 7758521 7758258 5211314 1314521 520520 521521 1314520 9958123
168168 518518 168888 888999 666888 888666 5201314a 1314woaini 111222tianya dearbook
xiazhili woaini woainima wobuzhidao zxcvbnm 12345qwert 1234554321 123454321 aa123123
qwe123456 woaini520 woaini1314 woaini521 123456qq 1234567a 123456789q 789789 456456
147147 258258 369369 159159 753753 951951 123789 987456 456789 345678 234567 112233
332211 121212 131313 141414 151515 101010 202020 212121 111222 222333 333444 112211
123qwe123 qwe123qwe abc12345 abcd123456 a1b2c3d4 q1w2e3r4 1a2b3c4d zaq12wsx
1qaz2wsx3edc qazwsx123 1q2w3e4r5t z123456 w123456 s123456 l123456 x123456 y123456
""".split()

# Pinyin words and phrases people build passwords from ("I love you", "hello", "password",
# pet names, places) and the most common full names.
CHINESE_WORDS = """
woaini aini aiwo woaiwojia woainia woaiziji wodemima mima mimamima nihao nihaoma woshishei
woshini woaimama woaibaba woaini woaiyou woxiangni xiangni aiqing xingfu kuaile yongyuan
zhongguo zhongguoren beijing shanghai guangzhou shenzhen tianjin chongqing wuhan nanjing
hangzhou chengdu xian tianya baidu taobao qingfeng xiaoxiao xiaoyu baobao baobei laopo
laogong qinqin tiantian dandan lili feifei yangyang xiaoming xiaohong xiaolong xiaobai
xiaohei tianshi mengxiang shijie ziyou taiyang yueliang xingxing pingguo meimei gege
jiejie didi mama baba haha hehe hehehe haohao wangyang zhangwei zhanglei liuyang wangwei
wangfang liwei lina zhangmin lijing wangjing liuwei wangxiuying lixiuying zhangli wangli
zhangjing liqiang wanglei liuying zhangyong lijun wangyong liyang zhangjie wangjun lijie
wangtao zhangtao liming zhangyan wangchao liyan zhangxiuying wangmin lijuan liuli
chenjing wangping wanggang zhangping chenlong longlong fangfang jingjing tingting
xiaoyan xiaojun xiaofeng xiaowei huahua lingling yingying shanshan
""".split()

# The surnames that cover about half of China, typed with digits (zhang123, wang1988).
CHINESE_SURNAMES = """
wang li zhang liu chen yang huang zhao wu zhou xu sun ma zhu hu guo he gao lin luo zheng
liang xie song tang han feng deng cao peng zeng xiao tian dong yuan pan cai jiang yu du
ye cheng wei su lu ding ren shen yao jin fu zhong
""".split()

# Lucky or romantic numbers (520 = "I love you", 1314 = "for ever", 888/666 = luck) and
# birth years, the tails most often added to a word.
NUMBER_SUFFIXES = [
    "", "1", "12", "123", "1234", "12345", "123456", "520", "521", "1314", "5201314",
    "888", "8888", "666", "6666", "88", "66", "168", "007", "000", "111", "00", "01",
] + [str(year) for year in range(1980, 2011)]

SURNAME_SUFFIXES = [
    "123", "1234", "12345", "123456", "888", "666", "520", "1314", "8888", "6666", "111",
] + [str(year) for year in range(1980, 2011)]

# Prefixes seen on digit passwords (qq123456, a123456, woaini123456).
PREFIXES = ["a", "aa", "qq", "abc", "woaini", "iloveyou"]
PREFIX_NUMBERS = ["123", "1234", "12345", "123456", "123456789", "520", "1314", "5201314",
                  "888", "8888", "666", "6666", "111", "000"]


def zxcvbn_passwords(path):
    text = open(path, encoding="utf-8").read()
    match = re.search(r'const PASSWORDS: &str = "((?:[^"\\]|\\.)*)";', text)
    if match is None:
        sys.exit("no PASSWORDS list in " + path)
    # Undo Rust string escapes (only \\ and \' occur).
    raw = match.group(1).replace("\\\\", "\\").replace("\\'", "'")
    return raw.split(",")


def chinese_passwords():
    out = list(CHINESE_FIXED)
    for word in CHINESE_WORDS:
        out += [word + suffix for suffix in NUMBER_SUFFIXES]
    for surname in CHINESE_SURNAMES:
        out += [surname + suffix for suffix in SURNAME_SUFFIXES]
    for prefix in PREFIXES:
        out += [prefix + number for number in PREFIX_NUMBERS]
    return out


def normalize(entry):
    return unicodedata.normalize("NFKC", entry.strip()).lower()


def main():
    if len(sys.argv) > 1:
        path = sys.argv[1]
    else:
        home = os.environ.get("CARGO_HOME", os.path.expanduser("~/.cargo"))
        found = glob.glob(f"{home}/registry/src/*/zxcvbn-{ZXCVBN_VERSION}/src/frequency_lists.rs")
        if not found:
            sys.exit(f"zxcvbn {ZXCVBN_VERSION} not in the cargo registry: run `cargo fetch`")
        path = found[0]
    from_zxcvbn = zxcvbn_passwords(path)
    entries = set()
    for entry in from_zxcvbn + chinese_passwords():
        entry = normalize(entry)
        # '#' starts a comment line in the file; whitespace-only or short entries are useless.
        if len(entry) >= 4 and not entry.startswith("#") and entry == entry.strip():
            entries.add(entry)
    header = [
        "# Common and breached passwords, rejected by custodian_domain::password_policy.",
        "# One per line: NFKC, lowercased, at least 4 characters, deduplicated, sorted by code point.",
        "# Generated by make-common-passwords.py beside this file; do not edit by hand.",
        f"# Sources: the 30,000-entry \"passwords\" frequency list of the zxcvbn crate {ZXCVBN_VERSION}",
        "#   (MIT; Copyright (c) 2016 Joshua Holmer, port of Dropbox's zxcvbn, Copyright (c)",
        "#   2012-2016 Dan Wheeler and Dropbox, Inc., which compiled it from Mark Burnett's",
        "#   10 million password corpus);",
        "# and a curated list of common Chinese passwords (digit patterns and pinyin words and",
        "#   names with common number suffixes, after the CSDN/Tianya/17173 leak rankings),",
        "#   written for Custodian under its Apache-2.0 licence.",
        f"# Entries: {len(entries)}.",
    ]
    with open(os.path.join(HERE, "common-passwords.txt"), "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(header + sorted(entries)) + "\n")
    print(f"{len(entries)} entries ({len(from_zxcvbn)} from zxcvbn before filtering)")


if __name__ == "__main__":
    main()
