/**
 * Calibration corpus for the text comparator (bench/verify.bench.ts): one
 * question's answer as two models might phrase it. Written for this
 * purpose; topics are spread so that "another question's answer" is a fair
 * cheat to tell apart.
 */
export const ANSWERS: ReadonlyArray<{ answer: string, paraphrase: string }> = [
  { answer: 'Paris is the capital of France and its largest city.', paraphrase: 'The capital of France is Paris, which is also the biggest city in the country.' },
  { answer: 'Water boils at 100 degrees Celsius at sea level.', paraphrase: 'At sea level, water reaches its boiling point at one hundred degrees Celsius.' },
  { answer: 'Photosynthesis lets plants turn sunlight, water and carbon dioxide into sugar and oxygen.', paraphrase: 'Plants use photosynthesis to convert light, water and carbon dioxide into glucose, releasing oxygen.' },
  { answer: 'The heart pumps blood through the body, carrying oxygen to the organs.', paraphrase: 'Blood is pushed around the body by the heart, delivering oxygen to every organ.' },
  { answer: 'A mortgage is a loan used to buy a house, repaid with interest over many years.', paraphrase: 'People borrow with a mortgage to purchase a home and pay it back with interest over a long period.' },
  { answer: 'Regular exercise strengthens muscles, improves sleep and lowers the risk of heart disease.', paraphrase: 'Exercising often builds muscle strength, helps you sleep better and reduces heart disease risk.' },
  { answer: 'The French Revolution began in 1789 and ended the absolute monarchy.', paraphrase: 'Starting in 1789, the French Revolution brought down the absolute rule of the king.' },
  { answer: 'To bake bread, mix flour, water, yeast and salt, let the dough rise, then bake it in a hot oven.', paraphrase: 'Bread is made by combining flour, water, salt and yeast, leaving the dough to rise and baking it in a hot oven.' },
  { answer: 'Interest rates rise when the central bank wants to slow inflation.', paraphrase: 'A central bank raises interest rates to bring inflation down.' },
  { answer: 'The moon orbits the earth about once every twenty-seven days.', paraphrase: 'It takes the moon roughly twenty-seven days to go around the earth.' },
  { answer: 'A compiler translates source code into machine code before the program runs.', paraphrase: 'Before a program runs, a compiler turns its source code into machine instructions.' },
  { answer: 'Elephants are the largest land animals and live in herds led by an older female.', paraphrase: 'The biggest animals on land are elephants, which live in herds guided by an old female.' },
  { answer: 'Vaccines train the immune system to recognise a virus without causing the disease.', paraphrase: 'A vaccine teaches the immune system to recognise a virus so that the illness does not develop.' },
  { answer: 'The river floods in spring when the snow in the mountains melts.', paraphrase: 'Each spring the melting mountain snow makes the river flood.' },
  { answer: 'Shakespeare wrote plays such as Hamlet, Macbeth and Romeo and Juliet.', paraphrase: 'Hamlet, Macbeth and Romeo and Juliet are among the plays written by Shakespeare.' },
  { answer: 'Solar panels turn sunlight into electricity without burning fuel.', paraphrase: 'Electricity is produced from sunlight by solar panels, with no fuel burned.' },
  { answer: 'Coffee contains caffeine, which makes people feel more awake.', paraphrase: 'The caffeine in coffee helps people feel alert and awake.' },
  { answer: 'A football team has eleven players on the field, including the goalkeeper.', paraphrase: 'Each football side fields eleven players, one of them the goalkeeper.' },
  { answer: 'Rain forms when water vapour in clouds condenses into drops heavy enough to fall.', paraphrase: 'When the vapour in clouds condenses into drops too heavy to stay up, they fall as rain.' },
  { answer: 'Saving a little money every month builds an emergency fund over time.', paraphrase: 'Putting aside a small amount each month gradually creates a fund for emergencies.' }
]
