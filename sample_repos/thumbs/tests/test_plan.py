from thumbs import PRESETS, Box, Size, Step, plan


def test_plan_fill_presets() -> None:
    steps = plan(Size(3000, 4000), [PRESETS["avatar"], PRESETS["card"]])
    assert steps == [
        Step("avatar", Size(128, 171), Box(0, 21, 128, 128)),
        Step("card", Size(400, 533), Box(0, 116, 400, 300)),
    ]
    assert [step.output for step in steps] == [Size(128, 128), Size(400, 300)]


def test_plan_small_upload_is_not_enlarged_to_fit() -> None:
    steps = {step.preset: step for step in plan(Size(200, 150))}
    assert steps["gallery"] == Step("gallery", Size(200, 150), None)
    assert steps["preview"].output == Size(200, 150)
    assert steps["avatar"].output == Size(128, 128)


def test_plan_all_presets() -> None:
    steps = plan(Size(4000, 3000))
    assert [(step.preset, step.output) for step in steps] == [
        ("avatar", Size(128, 128)),
        ("card", Size(400, 300)),
        ("gallery", Size(800, 600)),
        ("preview", Size(960, 720)),
    ]
