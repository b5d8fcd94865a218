/** Splits a command string into words as a POSIX shell would, without expansions. */
export function shellSplit(input: string): string[] | undefined {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  while (i < input.length) {
    const c = input[i] as string;
    if (c === "'") {
      const end = input.indexOf("'", i + 1);
      if (end < 0) return undefined;
      word += input.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      i++;
      let closed = false;
      while (i < input.length) {
        const d = input[i] as string;
        if (d === '"') {
          closed = true;
          i++;
          break;
        }
        if (d === '\\' && i + 1 < input.length && '"\\$`\n'.includes(input[i + 1] as string)) {
          word += input[i + 1];
          i += 2;
          continue;
        }
        word += d;
        i++;
      }
      if (!closed) return undefined;
      inWord = true;
    } else if (c === '\\' && i + 1 < input.length) {
      word += input[i + 1];
      inWord = true;
      i += 2;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i++;
    } else {
      word += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) words.push(word);
  return words;
}
