"""Layouts documented in at-modems.md §4/§5 that no shipped transcript covers (strings quoted there, or
built from the documented field order where marked)."""
from wanwatch.modem.vendors import huawei, quectel, simcom, ublox


def test_cpsi_index_form_ofono_comment():
    d = simcom.parse_cpsi("+CPSI: LTE,Online,460-01,0x230A,175499523,318,EUTRAN-BAND3,1650,5,0,21,67,255,19")
    assert d["units"] == "index" and d["rsrp_dbm"] == -74 and d["rsrq_db"] == -9.5 and d["rssi_dbm"] is None
    assert d["tac"] == 0x230A and d["band"] == 3 and d["sinr_db"] == 19


def test_cpsi_nr5g_sa_gsm_and_no_service():
    d = simcom.parse_cpsi("+CPSI: NR5G_SA,Online,460-01,0x6F4700,29869309958,95,NR5G_BAND78,627264,-800,-110,14")
    assert d["rat"] == "NR5G-SA" and d["rsrp_dbm"] == -80 and d["rsrq_db"] == -11 and d["band"] == 78
    assert d["cell_id"] == 29869309958 and d["earfcn"] == 627264 and d["sinr_db"] == 14
    g = simcom.parse_cpsi("+CPSI: GSM,Online,222-01,0x46C2,43674,1021 PGSM 900,25,0,15-15")
    assert g["rat"] == "GSM" and g["mcc"] == "222" and g["mnc"] == "01" and g["tac"] == 0x46C2
    assert simcom.parse_cpsi("+CPSI: NO SERVICE,Online")["rat"] is None


def test_hcsq_nr_has_no_rssi_and_sinr_before_rsrq():
    d = huawei.parse_hcsq('^HCSQ: "NR",60,130,80')
    assert d["rat"] == "NR5G-SA" and d["rssi_dbm"] is None and d["sinr_db"] == 5.8


def test_qeng_nr5g_sa_18_fields_rm500u():
    # built from the documented RM500U layout: DL bandwidth in MHz, trailing ...,-89,-8,15,18,34,1
    d = quectel.parse_qeng_servingcell(['+QENG: "servingcell","NOCONN","NR5G-SA","TDD",460,01,1A2B3C4D5,'
                                        '100,5A0B1,504990,41,100,-89,-8,15,18,34,1'])
    assert d["layout"] == "nr5g_sa18" and d["rsrp_dbm"] == -89 and d["rsrq_db"] == -8 and d["sinr_db"] == 15
    assert d["srxlev"] == 34 and d["band"] == 41 and d["tac"] == 0x5A0B1


def test_qeng_search_state_is_no_signal():
    d = quectel.parse_qeng_servingcell(['+QENG: "servingcell","SEARCH"'])
    assert d is None or d.get("rat") is None


def test_ucged_sara_r5_placeholders_and_r422_layout():
    d = ublox.parse_ucged(["+UCGED: 2", "6,4,fff,fff",
                           "65535,255,255,255,ffff,0000000,65535,00000000,ffff,ff,255,255,255,1,255,255,255"])
    assert d["mcc"] is None and d["mnc"] is None and d["tac"] is None and d["cell_id"] is None
    assert d["rsrp_dbm"] is None and d["rsrq_db"] is None and d["sinr_db"] is None
    # built from the documented R422 order: <rat>,<MCC>,<MNC> / <EARFCN>,<Lband>,<ul_BW>,<dl_BW>,<TAC>,<P-CID>,
    # <RSRP dBm>,<RSRQ dB>,<NBMsinr>
    r = ublox.parse_ucged(["+UCGED: 2", "6,262,01", "6300,20,25,25,0603,188,-97.50,-10.25,12"])
    assert r["mcc"] == "262" and r["mnc"] == "01" and r["tac"] == 0x603 and r["pci"] == 188
    assert r["rsrp_dbm"] == -97.5 and r["rsrq_db"] == -10.25 and r["band"] == 20
