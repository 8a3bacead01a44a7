"""The words of the pages themselves, in the four languages of the dataset.

Names of things come from the data (server.labels); this is only the interface around them.
"""

from __future__ import annotations

from starlette.requests import Request

from server.labels import LANGUAGES
from server.web.negotiation import negotiate_language

LANGUAGE_NAMES = {"en": "English", "fi": "suomi", "sv": "svenska", "zh": "中文"}

STRINGS: dict[str, dict[str, str]] = {
    "site": {
        "en": "Sister Cities Linked Data",
        "fi": "Ystävyyskaupungit avoimena linkitettynä datana",
        "sv": "Vänorter som länkade data",
        "zh": "友好城市关联数据",
    },
    "tagline": {
        "en": "Who cooperates with whom between cities: town twinning, the organisations, people in public roles and events around it, each fact with its source.",
        "fi": "Kuka tekee yhteistyötä kenen kanssa kaupunkien välillä: ystävyyskaupunkisuhteet ja niihin liittyvät organisaatiot, julkisissa tehtävissä toimivat henkilöt ja tapahtumat, jokainen tieto lähteineen.",
        "sv": "Vem som samarbetar med vem mellan städer: vänortsrelationer och organisationerna, personerna i offentliga roller och evenemangen kring dem, varje uppgift med sin källa.",
        "zh": "城市之间谁与谁合作：友好城市关系及相关的组织、担任公职的人员和活动，每条信息均注明来源。",
    },
    "query": {"en": "SPARQL", "fi": "SPARQL", "sv": "SPARQL", "zh": "SPARQL"},
    "browse": {"en": "Browse", "fi": "Selaa", "sv": "Bläddra", "zh": "浏览"},
    "search": {"en": "Search", "fi": "Hae", "sv": "Sök", "zh": "搜索"},
    "search_placeholder": {
        "en": "A name in English, Finnish, Swedish or Chinese",
        "fi": "Nimi englanniksi, suomeksi, ruotsiksi tai kiinaksi",
        "sv": "Ett namn på engelska, finska, svenska eller kinesiska",
        "zh": "英文、芬兰文、瑞典文或中文名称",
    },
    "ontology": {"en": "Ontology", "fi": "Ontologia", "sv": "Ontologi", "zh": "本体"},
    "shapes": {"en": "Shapes", "fi": "Rakennesäännöt", "sv": "Formregler", "zh": "约束规则"},
    "dumps": {"en": "Downloads", "fi": "Lataukset", "sv": "Nedladdningar", "zh": "下载"},
    "catalog": {"en": "Catalogue", "fi": "Luettelo", "sv": "Katalog", "zh": "目录"},
    "names": {"en": "Names", "fi": "Nimet", "sv": "Namn", "zh": "名称"},
    "statements": {"en": "Statements", "fi": "Tiedot", "sv": "Uppgifter", "zh": "陈述"},
    "links_here": {"en": "Linked from", "fi": "Linkitetty kohteista", "sv": "Länkat från", "zh": "被以下内容引用"},
    "sources": {"en": "Sources", "fi": "Lähteet", "sv": "Källor", "zh": "来源"},
    "source": {"en": "source", "fi": "lähde", "sv": "källa", "zh": "来源"},
    "derived": {"en": "derived", "fi": "johdettu", "sv": "härledd", "zh": "推导"},
    "conflicts": {
        "en": "The sources disagree",
        "fi": "Lähteet ovat ristiriidassa",
        "sv": "Källorna är oeniga",
        "zh": "来源之间存在分歧",
    },
    "this_claim": {"en": "This claim", "fi": "Tämä väite", "sv": "Detta påstående", "zh": "本条陈述"},
    "other_claim": {
        "en": "Conflicting claim",
        "fi": "Ristiriitainen väite",
        "sv": "Motstridigt påstående",
        "zh": "相冲突的陈述",
    },
    "map": {"en": "Map", "fi": "Kartta", "sv": "Karta", "zh": "地图"},
    "timeline": {"en": "Timeline", "fi": "Aikajana", "sv": "Tidslinje", "zh": "时间线"},
    "formats": {"en": "Other formats", "fi": "Muut muodot", "sv": "Andra format", "zh": "其他格式"},
    "in_sparql": {
        "en": "Open in the query editor",
        "fi": "Avaa kyselyeditorissa",
        "sv": "Öppna i frågeredigeraren",
        "zh": "在查询编辑器中打开",
    },
    "about_dataset": {
        "en": "The dataset itself",
        "fi": "Itse aineisto",
        "sv": "Själva datamängden",
        "zh": "数据集本身",
    },
    "n_values": {"en": "values", "fi": "arvoa", "sv": "värden", "zh": "个值"},
    "next": {"en": "Next", "fi": "Seuraava", "sv": "Nästa", "zh": "下一页"},
    "previous": {"en": "Previous", "fi": "Edellinen", "sv": "Föregående", "zh": "上一页"},
    "page": {"en": "Page", "fi": "Sivu", "sv": "Sida", "zh": "页"},
    "counts": {"en": "In numbers", "fi": "Lukuina", "sv": "I siffror", "zh": "数据统计"},
    "by_class": {"en": "Browse by kind", "fi": "Selaa lajeittain", "sv": "Bläddra efter typ", "zh": "按类别浏览"},
    "no_results": {"en": "Nothing found.", "fi": "Mitään ei löytynyt.", "sv": "Inget hittades.", "zh": "未找到结果。"},
    "results_for": {"en": "Results for", "fi": "Tulokset haulle", "sv": "Resultat för", "zh": "搜索结果："},
    "for_machines": {
        "en": "For programs and harvesters",
        "fi": "Ohjelmille ja haravoijille",
        "sv": "För program och skördare",
        "zh": "供程序和采集器使用",
    },
    "language": {"en": "Language", "fi": "Kieli", "sv": "Språk", "zh": "语言"},
    "classes": {"en": "Classes", "fi": "Luokat", "sv": "Klasser", "zh": "类"},
    "properties": {"en": "Properties", "fi": "Ominaisuudet", "sv": "Egenskaper", "zh": "属性"},
    "diagram": {"en": "Diagram", "fi": "Kaavio", "sv": "Diagram", "zh": "图示"},
    "domain": {"en": "Domain", "fi": "Määrittelyjoukko", "sv": "Domän", "zh": "定义域"},
    "range": {"en": "Range", "fi": "Arvojoukko", "sv": "Värdemängd", "zh": "值域"},
    "subclass_of": {"en": "Subclass of", "fi": "Yläluokka", "sv": "Underklass till", "zh": "父类"},
    "subproperty_of": {"en": "Subproperty of", "fi": "Yläominaisuus", "sv": "Underegenskap till", "zh": "父属性"},
    "equivalent": {"en": "Equivalent to", "fi": "Vastaa", "sv": "Motsvarar", "zh": "等价于"},
    "labels": {"en": "Labels", "fi": "Nimikkeet", "sv": "Etiketter", "zh": "标签"},
    "target": {"en": "Applies to", "fi": "Koskee", "sv": "Gäller", "zh": "适用于"},
    "rule": {"en": "Rule", "fi": "Sääntö", "sv": "Regel", "zh": "规则"},
    "message": {"en": "Message", "fi": "Viesti", "sv": "Meddelande", "zh": "提示"},
}


def translator(language: str) -> dict[str, str]:
    """The page words in one language (English where a word is missing)."""
    language = language if language in LANGUAGES else "en"
    return {key: words.get(language, words["en"]) for key, words in STRINGS.items()}


def reader_language(request: Request) -> str:
    """?lang= (the pages' language switcher) wins over Accept-Language."""
    chosen = request.query_params.get("lang")
    if chosen in LANGUAGES:
        return chosen
    return negotiate_language(request.headers.get("accept-language"), LANGUAGES)


def page_globals(request: Request) -> dict:
    """What every template can use: the reader's language, its words and the switcher's choices."""
    language = reader_language(request)
    return {"lang": language, "words": translator(language), "languages": LANGUAGE_NAMES}
