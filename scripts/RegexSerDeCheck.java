// What Hive's RegexSerDe (Athena) makes of each line: java.util.regex, matches() on
// the whole line, one value per capturing group (null when the group took no part).
// Input: the regex file, then a file of lines, each hex-encoded UTF-8.
// Output per line: "-" when it does not match, else the groups hex-encoded, "~" for
// null, separated by spaces. Used by athena-equality.py to compare with RE2 (DuckDB).
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

public class RegexSerDeCheck {
    public static void main(String[] args) throws Exception {
        Pattern p = Pattern.compile(Files.readString(Path.of(args[0]), StandardCharsets.UTF_8));
        HexFormat hex = HexFormat.of();
        StringBuilder out = new StringBuilder();
        for (String h : Files.readAllLines(Path.of(args[1]), StandardCharsets.US_ASCII)) {
            String line = new String(hex.parseHex(h), StandardCharsets.UTF_8);
            Matcher m = p.matcher(line);
            if (!m.matches()) {
                out.append("-\n");
                continue;
            }
            for (int g = 1; g <= m.groupCount(); g++) {
                String v = m.group(g);
                out.append(g > 1 ? " " : "").append(v == null ? "~" : hex.formatHex(v.getBytes(StandardCharsets.UTF_8)));
            }
            out.append('\n');
        }
        System.out.print(out);
    }
}
