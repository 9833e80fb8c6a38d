"""Siril's overlay: areas drawn in its view read in FITS order, object outlines drawn where Siril shows them."""

import numpy as np


def test_drawn_areas_flip_siril_display_rows_to_fits_rows(siril, sirilpy):
    from bgoptimizer_siril.overlay import OBJECT_COLOR, clear_areas, count_areas, drawn_areas

    interface = sirilpy.SirilInterface()
    siril.polygons.append(sirilpy.Polygon(points=[sirilpy.FPoint(0.5, 0.5), sirilpy.FPoint(10.5, 0.5),
                                                  sirilpy.FPoint(10.5, 20.5)], polygon_id=1))
    siril.polygons.append(sirilpy.Polygon(points=[sirilpy.FPoint(0, 0)] * 3, polygon_id=2, color=OBJECT_COLOR))
    (area,) = drawn_areas(interface, 100)  # the top-left pixel of the view is FITS column 0, row 99
    np.testing.assert_allclose(area, [[0, 99], [10, 99], [10, 79]])
    assert count_areas(interface) == 1
    assert clear_areas(interface) == 1 and [p.polygon_id for p in siril.polygons] == [2]  # our outline stays


def test_object_outlines_are_drawn_where_siril_shows_the_objects(siril, sirilpy):
    from bgoptimizer.method.objects.outlines import convex_hull
    from bgoptimizer_siril.overlay import OBJECT_COLOR, show_objects

    interface = sirilpy.SirilInterface()
    objects = np.zeros((5, 6), bool)
    objects[0:3, 0:2] = True  # six blocks in the first FITS rows: the bottom of Siril's view
    objects[4, 5] = True  # one block: too small to outline
    assert show_objects(interface, objects, 8, (40, 48)) == 1
    assert show_objects(interface, objects, 8, (40, 48)) == 1  # replaced, not added
    (outline,) = siril.polygons
    assert outline.color == OBJECT_COLOR
    corners = {(p.x, p.y) for p in outline.points}
    assert corners == {(0.0, 16.0), (16.0, 16.0), (16.0, 40.0), (0.0, 40.0)}  # display rows 16-40 of 40
    hull = convex_hull(np.array([[0, 0], [2, 0], [2, 2], [0, 2], [1, 1], [1, 0]], float))
    assert {tuple(p) for p in hull} == {(0, 0), (2, 0), (2, 2), (0, 2)}
