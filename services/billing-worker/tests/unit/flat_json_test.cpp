#include "flat_json.hpp"

#include <doctest/doctest.h>

#include <string>

using paperboy::billing::json_quote;
using paperboy::billing::parse_flat_object;

TEST_CASE("flat_json: an object of strings, with other scalars accepted and left out") {
  const auto object = parse_flat_object(
      " {\"billing_date\" : \"2024-06-15\", \"n\": -1.5e+3, \"t\": true, \"f\": false,"
      " \"z\": null, \"zero\": 0}\n");
  REQUIRE(object);
  CHECK(object->size() == 1);
  CHECK(object->at("billing_date") == "2024-06-15");
  CHECK(parse_flat_object("{}")->empty());
  CHECK(parse_flat_object("{\"a\": \"1\", \"a\": \"2\"}")->at("a") == "2");
}

TEST_CASE("flat_json: escapes, including surrogate pairs, become UTF-8") {
  const auto object =
      parse_flat_object(R"({"s": "q\" b\\ s\/ \b\f\n\r\t \u00e9 \u20ac \ud83d\ude00"})");
  REQUIRE(object);
  CHECK(object->at("s") == "q\" b\\ s/ \b\f\n\r\t \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  CHECK(parse_flat_object("{\"s\": \"\xc3\xa9\xe2\x82\xac\"}")->at("s") == "\xc3\xa9\xe2\x82\xac");
}

TEST_CASE("flat_json: anything else is refused") {
  for (const std::string text : {
           "",
           "not json",
           "[]",
           "\"s\"",
           "{",
           "{\"a\"}",
           "{\"a\": }",
           "{\"a\": \"1\",}",
           "{\"a\": \"1\"} x",
           "{\"a\": \"1\"}{}",
           "{a: \"1\"}",
           "{'a': '1'}",
           "{\"a\": {\"b\": \"1\"}}",
           "{\"a\": [\"1\"]}",
           "{\"a\": 01}",
           "{\"a\": 1.}",
           "{\"a\": .5}",
           "{\"a\": 1e}",
           "{\"a\": +1}",
           "{\"a\": tru}",
           "{\"a\": \"\\x\"}",
           "{\"a\": \"\\u12\"}",
           "{\"a\": \"\\ud83d\"}",
           "{\"a\": \"\\ude00\"}",
           "{\"a\": \"tab\there\"}",
           "{\"a\": \"\xff\"}",
           "{\"a\": \"\xc0\xaf\"}",
           "{\"a\": \"\xed\xa0\x80\"}",
           "{\"a\": \"\xf4\x90\x80\x80\"}",
           "{\"a\": \"\xe2\x82\"}",
           "{\"a\": \"1\"",
           "{\"a\": \"1}",
           "{\"a\": \"\\",
       }) {
    CAPTURE(text);
    CHECK_FALSE(parse_flat_object(text));
  }
}

TEST_CASE("flat_json: json_quote escapes what JSON requires and keeps the rest") {
  CHECK(json_quote("plain") == "\"plain\"");
  CHECK(json_quote("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(json_quote(std::string("\n\x01\x1f", 3)) == "\"\\u000a\\u0001\\u001f\"");
  CHECK(json_quote("\xc3\xa9/") == "\"\xc3\xa9/\"");
  const std::string text = "x\"\\\n\xe2\x82\xac";
  CHECK(parse_flat_object("{\"k\": " + json_quote(text) + "}")->at("k") == text);
}
