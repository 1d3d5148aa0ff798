// Test service for the cm_thrift codec tests: every field type, nesting through lists, maps and
// sets, a field id far from its neighbour (compact's long field header), declared exceptions,
// a void method, a oneway method, and a recursive struct for depth limits.
namespace cpp cmtest

exception Oops {
  1: string why
  2: i32 code
}

exception Gone {
  1: string reason
}

struct Inner {
  1: i32 a
  2: optional string b
  3: list<bool> flags
  4: double d
}

struct Blob {
  1: i8 b
  2: i16 s
  3: i32 i
  4: i64 l
  5: double d
  6: bool t
  7: bool f
  8: string text
  9: binary raw
  10: list<map<string, set<i32>>> lms
  11: map<i64, list<Inner>> deep
  12: set<string> tags
  13: Inner inner
  14: list<list<list<i16>>> cube
  15: map<string, Inner> by_name
  16: list<bool> bools
  17: map<bool, double> weights
  300: i32 far_field
  18: list<Inner> empty_list
  19: map<string, string> empty_map
}

struct Node {
  1: i32 value
  2: list<Node> kids
}

service Echo {
  string echo(1: string s) throws (1: Oops oops, 2: Gone gone)
  Blob mirror(1: Blob b)
  void nothing()
  oneway void ping(1: i32 x)
  Node tree(1: Node n)
}
