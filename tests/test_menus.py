from kaizala_console.menus import select_options


def test_options_escape_labels_and_mark_the_selected_one():
    html = select_options([(1, "<b>Ops</b> & co"), (2, 'say "hi"')], selected="2")
    assert html == ('<option value="1">&lt;b&gt;Ops&lt;/b&gt; &amp; co</option>'
                    '<option value="2" selected>say &quot;hi&quot;</option>')
