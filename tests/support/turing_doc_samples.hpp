// The turing API document's request bodies (api-docs/001_bf2549479f4c04d9.txt),
// verbatim: shared by the adapter's contract tests (turing_adapter_test.cpp)
// and the emulator's (turing_emulator_test.cpp), which compares bytes.
#pragma once

namespace reelbatch::turing_doc {

// doc 纯文本生成示例 (body)
inline constexpr const char* kDocVeoText = R"json({
    "prompt": "please generate a video of a cat playing piano",
    "model": "turing/veo-3.1-generate",
    "size": "1280x720",
    "seconds": "6"
  })json";

// doc Seedance 请求示例 (body)
inline constexpr const char* kDocSeedance = R"json({
    "prompt": "一只猫在弹钢琴",
    "model": "doubao-seedance-2-0-260128",
    "content": [
      {"type": "text", "text": "一只猫在弹钢琴,背景是温暖的客厅,阳光洒进来"},
      {"type": "image_url", "image_url": {"url": "https://example.com/cat_reference.jpg"}}
    ],
    "resolution": "1080p",
    "ratio": "16:9",
    "duration": 6,
    "seed": 42,
    "generate_audio": true,
    "return_last_frame": false
  })json";

}  // namespace reelbatch::turing_doc
