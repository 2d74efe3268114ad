from zoo.testing import check_method


def test_grayscale_conforms_to_translation_contract():
    check_method("grayscale.example")
