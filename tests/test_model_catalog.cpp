// The model catalog (harness/tp/model_catalog): every entry is one the harness and the stack
// can shard, and the shape presets hold exactly the entries the paths can run.
#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "harness/tp/model_catalog.hpp"
#include "harness/tp/shape.hpp"

using namespace ffn;
using Catch::Matchers::Contains;

TEST_CASE("model catalog: ids unique, dims positive, every allowed tp shards every dim", "[catalog]") {
  std::set<std::string_view> ids;
  for (const ModelFfn& m : model_catalog()) {
    INFO(m.id);
    CHECK(ids.insert(m.id).second);
    CHECK(m.hidden > 0);
    CHECK(m.inner > 0);
    REQUIRE_FALSE(m.tps.empty());
    CHECK(m.tps.front() == 1);
    for (int tp : m.tps) {
      CHECK((tp == 1 || tp == 2 || tp == 4 || tp == 8));
      CHECK(m.hidden % tp == 0);
      CHECK(m.inner % tp == 0);
    }
    CHECK(m.tensor_map.size() == (m.activation.gated && m.tensor_map.front().starts_with("gate.") ? 3u : 2u) * (m.bias ? 2 : 1));
    CHECK_FALSE(m.source.empty());
    CHECK(find_model(m.id) == &m);
  }
  // DESIGN section 8: at least these rows.
  for (const char* id : {"ltx2-video", "ltx2-video-nobias", "ltx2-audio", "wan2.1-1.3b", "wan2.2-14b", "wan2.2-ti2v-5b",
                         "hunyuanvideo", "flux1", "joy-image", "mova-audio", "hunyuan3d", "flux2", "z-image", "cosmos3",
                         "ideogram4", "ernie-image"})
    CHECK(find_model(id) != nullptr);
  CHECK(find_model("gpt-5") == nullptr);
}

TEST_CASE("model catalog: the shape presets are tiny, small and every model of the catalog", "[catalog]") {
  for (const ModelFfn& m : model_catalog()) {
    INFO(m.id);
    const std::optional<FfnShape> s = find_shape(m.id);
    REQUIRE(s);
    CHECK(s->dim == m.hidden);
    CHECK(s->inner == m.inner);
    CHECK(s->bias == m.bias);
    CHECK(s->activation == m.activation);
  }
  CHECK(shape_presets().size() == model_catalog().size() + 2);
  CHECK(find_shape("tiny"));
  CHECK(find_shape("small"));
}

TEST_CASE("model catalog: gated and no-bias MLPs as the stack builds them", "[catalog]") {
  CHECK_FALSE(find_shape("ltx2-video-nobias")->bias);
  CHECK(find_shape("ltx2-video")->bias);
  CHECK(find_model("flux2")->activation == Activation{ActFn::silu, true});
  CHECK(find_model("ernie-image")->activation == Activation{ActFn::gelu, true});
  CHECK(find_model("wan2.2-14b")->activation == Activation{ActFn::gelu_tanh, false});
  CHECK(find_model("z-image")->summary() == "z-image: 3840 -> 10240 swiglu, no bias");
  for (const ModelFfn& m : model_catalog())
    if (m.activation.gated) CHECK_FALSE(m.bias);  // every gated MLP of DESIGN section 8 has none
}
